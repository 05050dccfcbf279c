"""The command line: demo data, accounts, and clear refusals that write nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from campaign import cli
from campaign.extensions import db
from campaign.models import OrgUnit, Plan, PlanStatus, Quota, Result, User
from campaign.services.summary import plan_summary
from tests import factories as f
from tests.test_imports import xlsx


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_loads_quang_xuong_2021(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    names = set(db.session.scalars(select(OrgUnit.name)))
    assert {"Tân Phong", "Quảng Bình", "Tiên Trang", "Quảng Yên"} <= names
    communes = db.session.scalar(select(func.count()).where(OrgUnit.kind.in_(["commune", "town"])))
    assert communes == 26
    province_plan = db.session.scalar(select(Plan).where(Plan.number == "276/KH-BCĐTH"))
    district_plan = db.session.scalar(select(Plan).where(Plan.parent_id == province_plan.id))
    assert "mẫu" in province_plan.note
    assert [d.number for d in province_plan.documents] == ["78/BCĐTH"]
    assert [d.number for d in district_plan.documents] == ["24/LĐLĐ"]
    (drive,) = district_plan.drives
    assert (drive.starts_on.isoformat(), drive.ends_on.isoformat()) == ("2021-06-11", "2021-06-12")
    binh = next(
        line for line in plan_summary(district_plan).lines if line.unit.name == "Quảng Bình"
    )
    assert (binh.quota, binh.collected, binh.status.value) == (
        40,
        50,
        "over",
    )  # 45 of its own + 5 of its school union
    # The province plan sees the district's drive through the plan below it.
    assert (
        plan_summary(province_plan).totals.collected == plan_summary(district_plan).totals.collected
    )


def test_serve_demo_serves_on_the_port_given(runner, monkeypatch):
    """Port 5000 may be taken (another app, a second checkout): --port moves the demo."""
    served = []
    monkeypatch.setattr(cli, "run_simple", lambda host, port, app, **_: served.append((host, port)))
    monkeypatch.setattr(cli.gc, "freeze", lambda: None)  # the suite's objects stay collectable
    result = runner.invoke(args=["serve-demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output
    assert runner.invoke(args=["serve-demo", "--host", "0.0.0.0"]).exit_code == 0
    assert served == [("127.0.0.1", 8123), ("0.0.0.0", 5000)]
    assert count(Plan) > 0 and count(User) > 0  # with the demo data loaded


def test_demo_refuses_a_database_with_data(runner):
    f.unit("Có sẵn")
    f.commit()
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    assert "trống" in result.output
    assert count(Plan) == 0


def test_create_user_reads_the_password_from_stdin(runner):
    f.unit("Huyện Quảng Xương", "district", code="QX")
    f.commit()
    result = runner.invoke(
        args=["create-user", "bcd", "--role", "organiser", "--unit", "QX"],
        input="mot mat khau dai\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "bcd"))
    assert user.check_password("mot mat khau dai")
    assert [u.code for u in user.units] == ["QX"]
    assert user.must_change_password is False  # typed by its owner, not handed over
    assert "mot mat khau" not in result.output


def test_first_admin_needs_no_unit(runner):
    result = runner.invoke(args=["create-user", "root", "--role", "admin"], input="x" * 20 + "\n")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["create-user", "a", "--role", "boss"], "x" * 12 + "\n", "boss"),
        (["create-user", "a", "--role", "reporter", "--unit", "NOPE"], "x" * 12 + "\n", "NOPE"),
        (["create-user", "a", "--role", "reporter"], "x" * 12 + "\n", "--unit"),
        (["create-user", "a", "--role", "admin"], "short\n", "8 ký tự"),
        (["create-user", "a", "--role", "admin"], "", "stdin"),
    ],
)
def test_create_user_refusals_write_nothing(runner, args, stdin, message):
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert len(result.output.strip().splitlines()) <= 3
    assert count(User) == 0


def test_duplicate_username_is_refused(runner):
    runner.invoke(args=["create-user", "a", "--role", "admin"], input="x" * 12 + "\n")
    result = runner.invoke(args=["create-user", "a", "--role", "admin"], input="y" * 12 + "\n")
    assert result.exit_code != 0
    assert "đã có" in result.output
    assert count(User) == 1


def test_import_units_finds_the_unit_under_whatever_the_case_of_its_code(runner, tmp_path):
    f.unit("Huyện Quảng Xương", "district", code="QX")
    f.commit()
    file = tmp_path / "don-vi.xlsx"
    file.write_bytes(
        xlsx(["Mã đơn vị", "Tên đơn vị", "Loại"], ["QX-THPT1", "Trường THPT 1", "Trường học"])
    )
    result = runner.invoke(args=["import-units", str(file), "--under", "qx"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "QX-THPT1"))
    assert school.parent.code == "QX"


def test_import_quotas_into_a_closed_plan_fails_on_one_line_and_writes_nothing(runner, tmp_path):
    district = f.unit("Huyện Quảng Xương", "district")
    f.unit("Quảng Bình", "commune", district)
    plan = f.plan(district)
    plan.status = PlanStatus.CLOSED
    f.commit()
    file = tmp_path / "chi-tieu.xlsx"
    file.write_bytes(xlsx(["Đơn vị", "Chỉ tiêu"], ["Quảng Bình", 40]))
    result = runner.invoke(args=["import-quotas", str(plan.id), str(file)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Kế hoạch đã kết thúc" in result.output
    assert "new: 1" not in result.output
    assert "Traceback" not in result.output
    db.session.rollback()
    assert count(Quota) == 0


def test_import_results_into_a_closed_plan_shows_the_problem_and_writes_nothing(runner, tmp_path):
    district = f.unit("Huyện Quảng Xương", "district")
    f.unit("Quảng Bình", "commune", district)
    plan = f.plan(district)
    drive = f.drive(plan)
    plan.status = PlanStatus.CLOSED
    f.commit()
    file = tmp_path / "ket-qua.xlsx"
    file.write_bytes(xlsx(["Đơn vị", "Hiến thành công"], ["Quảng Bình", 4]))
    result = runner.invoke(args=["import-results", str(drive.id), str(file)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Kế hoạch đã kết thúc" in result.output
    assert "new: 1" not in result.output
    db.session.rollback()
    assert count(Result) == 0
