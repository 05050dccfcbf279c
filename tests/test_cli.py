"""The command line: demo data, accounts, and every refusal on one line, writing nothing."""

from __future__ import annotations

import socket
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from campaign import cli
from campaign.extensions import db
from campaign.models import OrgUnit, Plan, PlanStatus, Quota, Result, User
from campaign.services.summary import plan_summary
from tests import factories as f
from tests.conftest import make_app
from tests.test_imports import xlsx


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_loads_quang_xuong_2021(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    names = set(db.session.scalars(select(OrgUnit.name)))
    assert {"Tân Phong", "Quảng Bình", "Tiên Trang", "Quảng Yên"} <= names
    old = select(func.count()).where(
        OrgUnit.kind.in_(["commune", "town"]), OrgUnit.code.like("QX-%")
    )
    assert db.session.scalar(old) == 26
    # And the reform: Thanh Hóa's 166 communes and wards of 1 July 2025.
    new = select(func.count()).where(OrgUnit.valid_from == date(2025, 7, 1))
    assert db.session.scalar(new) == 166
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
    monkeypatch.setattr(cli, "_check_port", lambda host, port: None)  # 5000 may be taken here
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


# --- every command, refused -------------------------------------------------------------


@dataclass
class Refusal:
    """A command line the services refuse, and a word of the one line that says why."""

    args: list[str]
    says: str
    stdin: str | None = None
    #: Another app to run it in: one whose database cannot be opened.
    app: Flask | None = None


#: Per command of the app's command line, inputs the services refuse. A case sets up its
#: data in the test's database; ``tmp`` is a folder of its own, ``hold`` keeps a resource
#: (a port) taken until the command has run. A new command without a case fails
#: test_every_command_has_a_refusal_case.
REFUSALS: dict[str, list[Callable[[Path, ExitStack], Refusal]]] = defaultdict(list)


def refusal(command: str):
    def register(case: Callable[[Path, ExitStack], Refusal]):
        REFUSALS[command].append(case)
        return case

    return register


def _sheet(tmp: Path, *rows: list) -> str:
    file = tmp / "tep.xlsx"
    file.write_bytes(xlsx(*rows))
    return str(file)


def _closed_plan() -> Plan:
    district = f.unit("Huyện Quảng Xương", "district", code="QX")
    f.unit("Quảng Bình", "commune", district, code="QX-BINH")
    plan = f.plan(district, number="15/KH-BCĐ")
    f.drive(plan)
    plan.status = PlanStatus.CLOSED
    return plan


@refusal("init-db")
def _a_database_that_cannot_be_opened(tmp: Path, hold: ExitStack) -> Refusal:
    app = make_app(f"sqlite:///{tmp}/no-such-folder/campaign.sqlite")
    hold.callback(lambda: _dispose_engine(app))
    return Refusal(["init-db"], "cơ sở dữ liệu", app=app)


def _dispose_engine(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


@refusal("demo")
def _demo_into_a_database_with_data(tmp: Path, hold: ExitStack) -> Refusal:
    f.unit("Có sẵn")
    return Refusal(["demo"], "trống")


@refusal("serve-demo")
def _serve_on_a_port_taken(tmp: Path, hold: ExitStack) -> Refusal:
    taken = hold.enter_context(socket.create_server(("127.0.0.1", 0)))
    return Refusal(["serve-demo", "--port", str(taken.getsockname()[1])], "cổng")


@refusal("create-user")
def _a_role_nobody_has(tmp: Path, hold: ExitStack) -> Refusal:
    return Refusal(["create-user", "a", "--role", "boss"], "boss", "x" * 12 + "\n")


@refusal("create-user")
def _a_unit_nobody_has(tmp: Path, hold: ExitStack) -> Refusal:
    return Refusal(["create-user", "a", "--role", "reporter", "--unit", "NOPE"], "NOPE", "x" * 12)


@refusal("create-user")
def _a_username_taken(tmp: Path, hold: ExitStack) -> Refusal:
    f.user("admin", username="a")
    return Refusal(["create-user", "a", "--role", "admin"], "đã có", "x" * 12 + "\n")


@refusal("generate-province")
def _a_province_whose_codes_are_taken(tmp: Path, hold: ExitStack) -> Refusal:
    f.unit("Tỉnh có sẵn", "province", code="P")
    sizes = ["--districts", "1", "--communes", "1", "--years", "1"]
    return Refusal(["generate-province", *sizes], "P")


@refusal("import-units")
def _units_under_a_unit_nobody_has(tmp: Path, hold: ExitStack) -> Refusal:
    sheet = _sheet(tmp, ["Mã đơn vị", "Tên đơn vị"], ["X1", "Xã Một"])
    return Refusal(["import-units", sheet, "--under", "NOPE"], "NOPE")


@refusal("import-official-units")
def _an_unknown_province(tmp: Path, hold: ExitStack) -> Refusal:
    return Refusal(["import-official-units", "Tỉnh Không Có"], "Tỉnh Không Có")


@refusal("import-quotas")
def _quotas_into_a_closed_plan(tmp: Path, hold: ExitStack) -> Refusal:
    sheet = _sheet(tmp, ["Đơn vị", "Chỉ tiêu"], ["Quảng Bình", 40])
    return Refusal(["import-quotas", str(_closed_plan().id), sheet], "Kế hoạch đã kết thúc")


@refusal("import-quotas")
def _quotas_into_a_plan_nobody_has(tmp: Path, hold: ExitStack) -> Refusal:
    sheet = _sheet(tmp, ["Đơn vị", "Chỉ tiêu"], ["Quảng Bình", 40])
    return Refusal(["import-quotas", "99/KH-XX", sheet], "99/KH-XX")


@refusal("import-results")
def _results_into_a_closed_plan(tmp: Path, hold: ExitStack) -> Refusal:
    sheet = _sheet(tmp, ["Đơn vị", "Hiến thành công"], ["Quảng Bình", 4])
    drive = _closed_plan().drives[0]
    return Refusal(["import-results", str(drive.id), sheet], "Kế hoạch đã kết thúc")


@refusal("import-results")
def _results_into_a_drive_nobody_has(tmp: Path, hold: ExitStack) -> Refusal:
    sheet = _sheet(tmp, ["Đơn vị", "Hiến thành công"], ["Quảng Bình", 4])
    return Refusal(["import-results", "999999", sheet], "999999")


@refusal("send-reminders")
def _reminders_of_a_drive_nobody_has(tmp: Path, hold: ExitStack) -> Refusal:
    return Refusal(["send-reminders", "999999"], "999999")


@refusal("send-reminders")
def _reminders_with_no_mail_server(tmp: Path, hold: ExitStack) -> Refusal:
    district, (binh,) = f.district_with_communes(["Quảng Bình"])
    binh.contact_email = "binh@example.vn"
    drive = f.drive(f.plan(district))
    return Refusal(["send-reminders", str(drive.id)], "MAIL_SERVER")


@refusal("export-summary")
def _the_summary_of_a_plan_nobody_has(tmp: Path, hold: ExitStack) -> Refusal:
    return Refusal(["export-summary", "99/KH-XX", "-o", str(tmp / "tong-hop.xlsx")], "99/KH-XX")


@refusal("create-token")
def _a_token_for_nobody(tmp: Path, hold: ExitStack) -> Refusal:
    return Refusal(["create-token", "nobody"], "nobody")


@refusal("create-token")
def _a_token_for_a_disabled_account(tmp: Path, hold: ExitStack) -> Refusal:
    f.user("admin", username="locked").enabled = False
    return Refusal(["create-token", "locked"], "khóa")


@refusal("list-tokens")
def _the_tokens_of_nobody(tmp: Path, hold: ExitStack) -> Refusal:
    return Refusal(["list-tokens", "nobody"], "nobody")


@refusal("revoke-token")
def _a_token_nobody_has(tmp: Path, hold: ExitStack) -> Refusal:
    return Refusal(["revoke-token", "999999"], "999999")


def our_commands(app: Flask) -> set[str]:
    """The app's own commands, found on its command group (Flask-Migrate's and
    flask-smorest's are theirs)."""
    return {
        name
        for name, command in app.cli.commands.items()
        if getattr(command.callback, "__module__", "").startswith("campaign")
    }


def rows_of_every_table() -> dict[str, int]:
    """Rows per table, the audit trail included, as committed."""
    db.session.rollback()
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_every_command_has_a_refusal_case(app):
    assert our_commands(app) == set(REFUSALS)


@pytest.mark.parametrize(
    "case",
    [case for cases in REFUSALS.values() for case in cases],
    ids=lambda case: case.__name__.strip("_"),
)
def test_a_refused_command_says_why_on_one_line_and_writes_nothing(app, case, tmp_path):
    with ExitStack() as hold:
        refused = case(tmp_path, hold)
        f.commit()
        before = rows_of_every_table()
        target = refused.app or app
        with target.app_context():
            result = target.test_cli_runner().invoke(args=refused.args, input=refused.stdin)
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and refused.says in lines[0], result.output
    assert rows_of_every_table() == before
