"""The organiser's plan pages: the plan form's rules, documents, drives, status, the quota
grid (all-or-nothing, copy from another plan, allocation check) and the result grid."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import (
    AuditEntry,
    Drive,
    ImportKind,
    PendingImport,
    Plan,
    PlanDocument,
    Quota,
    Result,
)
from campaign.services import pending_imports, plans
from tests import factories as f

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def setup(app, client, auth):
    district, communes = f.district_with_communes(["Quảng Bình", "Quảng Ngọc", "Tiên Trang"])
    province_plan = f.plan(district.parent, number="276/KH-BCĐTH", issued_on=date(2020, 12, 28))
    plans.set_quotas(province_plan, {district: 100})
    plan = f.plan(district, number="15/KH-BCĐ", parent=province_plan)
    organiser = f.user("organiser", [district])
    f.commit()
    auth.sign_in(organiser)
    return plan, district, communes


def fresh(model, id_):
    db.session.rollback()  # see what the requests committed
    return db.session.get(model, id_)


def stored_quotas(plan: Plan) -> dict[str, int]:
    db.session.rollback()
    rows = db.session.scalars(select(Quota).where(Quota.plan_id == plan.id))
    return {q.unit.name: q.amount for q in rows}


PLAN = {
    "number": "16/KH-BCĐ",
    "issued_on": "2022-03-01",
    "title": "Hiến máu năm 2022",
    "year": "2022",
    "counting_rule": "bag",
    "parent_id": "0",
    "compare_with_id": "auto",
}


def test_create_plan(client, setup):
    _, district, _ = setup
    response = client.post("/ke-hoach/moi", data={**PLAN, "issuer_id": district.id})
    assert response.status_code == 302
    db.session.rollback()
    plan = db.session.scalar(select(Plan).where(Plan.number == "16/KH-BCĐ"))
    assert (plan.issuer_id, plan.year, plan.status) == (district.id, 2022, "draft")


def test_a_number_below_ten_keeps_its_leading_zero(client, setup):
    _, district, _ = setup
    response = client.post(
        "/ke-hoach/moi", data={**PLAN, "number": "05/KH-BCĐ", "issuer_id": district.id}
    )
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(Plan.number).where(Plan.year == 2022)) == "05/KH-BCĐ"
    # 05 and 5 are the same number: the same plan cannot be entered twice that year.
    again = client.post(
        "/ke-hoach/moi", data={**PLAN, "number": "5/KH-BCĐ", "issuer_id": district.id}
    )
    assert "Đã có kế hoạch số 5/KH-BCĐ ban hành năm 2022" in again.get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"number": "16/kh-bcđ"}, "chữ in hoa"),
        ({"number": "005/KH-BCĐ"}, "chỉ số dưới 10 mới viết thêm số 0 ở đầu"),
        ({"number": "0/KH-BCĐ"}, "số bắt đầu từ 1"),
        ({"number": "16 /KH-BCĐ"}, "viết liền không dấu cách"),
        ({"number": "KH-BCĐ"}, "số/ký hiệu"),
        (
            {"number": "15/KH-BCĐ", "issued_on": "2021-01-02"},
            "Đã có kế hoạch số 15/KH-BCĐ ban hành năm 2021",
        ),
        ({"issued_on": "2022-02-30"}, "Ngày không hợp lệ"),
        ({"issued_on": ""}, "Nhập ngày."),
        ({"title": " "}, "Nhập trích yếu kế hoạch."),
        ({"year": "hai nghìn"}, "Năm phải là số nguyên."),
        ({"year": "1890"}, "Năm phải từ 2000 đến 2100."),
        ({"counting_rule": "litre"}, "Lựa chọn không hợp lệ."),
    ],
)
def test_plan_form_rules(client, setup, changes, message):
    _, district, _ = setup
    response = client.post("/ke-hoach/moi", data={**PLAN, "issuer_id": district.id, **changes})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert 'value="Hiến máu năm 2022"' in page or "title" in changes
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 2


def test_a_plan_cannot_be_its_own_parent(client, setup):
    plan, district, _ = setup
    data = {
        **PLAN,
        "number": plan.number,
        "issued_on": "2021-05-10",
        "issuer_id": district.id,
        "parent_id": plan.id,
    }
    page = client.post(f"/ke-hoach/{plan.id}/sua", data=data).get_data(as_text=True)
    assert "Lựa chọn không hợp lệ." in page  # not offered, and refused when posted


def test_cite_documents(client, setup):
    plan, _, _ = setup
    bad = client.post(
        f"/ke-hoach/{plan.id}/van-ban",
        data={"doc-number": "78/bcđth", "doc-issued_on": "2021-04-29", "doc-issuer": "BCĐ tỉnh"},
    )
    assert "chữ in hoa" in bad.get_data(as_text=True)
    good = client.post(
        f"/ke-hoach/{plan.id}/van-ban",
        data={
            "doc-number": "78/BCĐTH",
            "doc-issued_on": "2021-04-29",
            "doc-issuer": "BCĐ tỉnh",
            "doc-summary": "Phòng chống dịch",
        },
    )
    assert good.status_code == 302
    db.session.rollback()
    assert [d.number for d in db.session.scalars(select(PlanDocument))] == ["78/BCĐTH"]


def test_drives(client, setup):
    plan, _, _ = setup
    bad = client.post(
        f"/ke-hoach/{plan.id}/dot/moi",
        data={"name": "Đợt 1", "starts_on": "2021-06-12", "ends_on": "2021-06-11"},
    )
    assert "Ngày kết thúc đợt hiến máu phải sau ngày bắt đầu." in bad.get_data(as_text=True)
    good = client.post(
        f"/ke-hoach/{plan.id}/dot/moi",
        data={
            "name": "Đợt 1",
            "starts_on": "11/06/2021",
            "ends_on": "12/06/2021",
            "site": "Trung tâm Hội nghị huyện",
        },
    )
    assert good.status_code == 302
    db.session.rollback()
    drive = db.session.scalar(select(Drive).where(Drive.plan_id == plan.id))
    assert (drive.starts_on, drive.ends_on) == (date(2021, 6, 11), date(2021, 6, 12))
    # No deadline typed: three days after the drive's last day.
    assert drive.report_due_on == date(2021, 6, 15)
    assert client.get(f"/ke-hoach/{plan.id}/dot/999999/sua").status_code == 404


def test_a_drive_s_report_deadline_is_typed_dd_mm_yyyy_and_not_before_the_drive(client, setup):
    plan, _, _ = setup
    fields = {"name": "Đợt 1", "starts_on": "11/06/2021", "ends_on": "12/06/2021"}
    url = f"/ke-hoach/{plan.id}/dot/moi"

    early = client.post(url, data={**fields, "report_due_on": "10/06/2021"})
    typo = client.post(url, data={**fields, "report_due_on": "31/02/2021"})
    good = client.post(url, data={**fields, "report_due_on": "01/07/2021"})

    assert "Hạn báo cáo không được trước ngày kết thúc đợt hiến máu." in early.get_data(True)
    assert "Ngày không hợp lệ; ghi theo dạng dd/mm/yyyy." in typo.get_data(as_text=True)
    assert good.status_code == 302
    db.session.rollback()
    drives = db.session.scalars(select(Drive).where(Drive.plan_id == plan.id)).all()
    assert [d.report_due_on for d in drives] == [date(2021, 7, 1)]
    edit = client.get(f"/ke-hoach/{plan.id}/dot/{drives[0].id}/sua").get_data(as_text=True)
    assert 'value="01/07/2021"' in edit
    # Moved past a deadline the organiser set: refused by the deadline's field.
    moved = {**fields, "starts_on": "01/07/2021", "ends_on": "02/07/2021"}
    late = client.post(
        f"/ke-hoach/{plan.id}/dot/{drives[0].id}/sua", data={**moved, "report_due_on": "01/07/2021"}
    )
    assert "Hạn báo cáo không được trước ngày kết thúc đợt hiến máu." in late.get_data(True)


def test_a_default_deadline_moves_with_the_drive(client, setup):
    plan, _, _ = setup
    drive = f.drive(plan)  # 11/06/2021, due 14/06/2021 by default
    f.commit()
    moved = {"name": drive.name, "starts_on": "01/10/2022", "ends_on": "02/10/2022"}
    response = client.post(
        f"/ke-hoach/{plan.id}/dot/{drive.id}/sua", data={**moved, "report_due_on": "14/06/2021"}
    )
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(Drive, drive.id).report_due_on == date(2022, 10, 5)


def test_a_plan_made_by_mistake_is_deleted_and_one_in_use_is_kept(client, auth, setup):
    plan, district, (binh, *_) = setup
    mistake = f.plan(district, number="99/KH-BCĐ")
    plans.cite_document(mistake, number="78/BCĐTH", issued_on=date(2021, 4, 29), issuer="BCĐ")
    with_quota, with_drive = f.plan(district), f.plan(district)
    plans.set_quotas(with_quota, {binh: 5})
    f.drive(with_drive)
    f.commit()
    ids = {"mistake": mistake.id, "quota": with_quota.id, "drive": with_drive.id}
    ids |= {"parent": plan.parent_id, "closed": plan.id}
    assert "Xóa kế hoạch" in client.get(f"/ke-hoach/{ids['mistake']}/sua").text

    response = client.post(f"/ke-hoach/{ids['mistake']}/xoa")
    assert response.headers["Location"] == "/"
    assert "Đã xóa kế hoạch 99/KH-BCĐ." in client.get("/").text
    assert fresh(Plan, ids["mistake"]) is None
    assert db.session.scalars(select(PlanDocument.plan_id)).all() == []
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "plan.delete"))
    assert (entry.before["number"], entry.before["documents"]) == ("99/KH-BCĐ", ["78/BCĐTH"])

    # A quota, a drive or a plan below it (the province plan has the district's) keeps it.
    auth.sign_in(f.user("admin"))  # the province plan is not the district organiser's
    f.commit()
    for key in ("quota", "drive", "parent"):
        response = client.post(f"/ke-hoach/{ids[key]}/xoa", follow_redirects=True)
        assert "không xóa được" in response.text, key
        assert fresh(Plan, ids[key]) is not None

    client.post(f"/ke-hoach/{ids['closed']}/trang-thai", data={"status": "closed"})
    response = client.post(f"/ke-hoach/{ids['closed']}/xoa", follow_redirects=True)
    assert "chỉ xem được" in response.text and fresh(Plan, ids["closed"]) is not None


def test_a_drive_made_by_mistake_is_deleted_and_one_with_reports_is_kept(client, setup):
    plan, _district, (binh, ngoc, _) = setup
    mistake, reported, drafted, late = (f.drive(plan) for _ in range(4))
    f.result(reported, binh, 3)
    f.result(drafted, ngoc, 2, state="draft")
    uploader = f.user("organiser", [_district])
    pending_imports.store(uploader, ImportKind.RESULTS, mistake.id, "ket-qua.xlsx", b"PK")
    pending_imports.store(uploader, ImportKind.QUOTAS, mistake.id, "chi-tieu.xlsx", b"PK")
    f.commit()
    plan_id, name = plan.id, mistake.name
    mistake_id, kept_ids, late_id = mistake.id, (reported.id, drafted.id), late.id
    assert "Xóa đợt hiến máu" in client.get(f"/ke-hoach/{plan_id}/dot/{mistake_id}/sua").text

    response = client.post(f"/ke-hoach/{plan_id}/dot/{mistake_id}/xoa")
    assert response.headers["Location"] == f"/ke-hoach/{plan_id}"
    assert f"Đã xóa đợt hiến máu {name}." in client.get(response.location).text
    assert fresh(Drive, mistake_id) is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "drive.delete"))
    assert (entry.entity_id, entry.before["name"]) == (mistake_id, name)
    # The results file waiting for that drive goes with it; a quota file for a plan stays.
    assert db.session.scalars(select(PendingImport.kind)).all() == [ImportKind.QUOTAS.value]

    for kept in kept_ids:  # a draft is a unit's work too
        response = client.post(f"/ke-hoach/{plan_id}/dot/{kept}/xoa", follow_redirects=True)
        assert "không xóa được" in response.text
        assert fresh(Drive, kept) is not None
    assert db.session.scalar(select(func.count()).select_from(Result)) == 2

    client.post(f"/ke-hoach/{plan_id}/trang-thai", data={"status": "closed"})
    response = client.post(f"/ke-hoach/{plan_id}/dot/{late_id}/xoa", follow_redirects=True)
    assert "chỉ xem được" in response.text and fresh(Drive, late_id) is not None


def test_a_closed_plan_is_read_only_until_reopened(client, setup):
    plan, district, (binh, *_) = setup
    assert (
        client.post(f"/ke-hoach/{plan.id}/trang-thai", data={"status": "closed"}).status_code == 302
    )
    page = client.get(f"/ke-hoach/{plan.id}/chi-tieu").get_data(as_text=True)
    assert "chỉ xem được" in page and "disabled" in page
    response = client.post(f"/ke-hoach/{plan.id}/chi-tieu", data={f"q-{binh.id}-amount": "5"})
    assert "chỉ xem được" in response.get_data(as_text=True)
    edit = client.post(
        f"/ke-hoach/{plan.id}/sua", data={**PLAN, "issuer_id": district.id, "title": "Đổi tên"}
    )
    assert "chỉ xem được" in edit.get_data(as_text=True)
    assert stored_quotas(plan) == {}
    assert fresh(Plan, plan.id).title != "Đổi tên"
    client.post(f"/ke-hoach/{plan.id}/trang-thai", data={"status": "active"})
    client.post(f"/ke-hoach/{plan.id}/chi-tieu", data={f"q-{binh.id}-amount": "5"})
    assert stored_quotas(plan) == {"Quảng Bình": 5}


def test_quota_grid_saves_every_row(client, setup):
    plan, _, (binh, ngoc, tien) = setup
    page = client.get(f"/ke-hoach/{plan.id}/chi-tieu").get_data(as_text=True)
    assert all(f'name="q-{u.id}-amount"' for u in (binh, ngoc, tien))
    assert "100" in page  # what the province plan gave the district
    response = client.post(
        f"/ke-hoach/{plan.id}/chi-tieu",
        data={
            f"q-{binh.id}-amount": "40",
            f"q-{ngoc.id}-amount": "1.200",
            f"q-{tien.id}-amount": "",
        },
        follow_redirects=True,
    )
    assert "Đã lưu chỉ tiêu." in response.get_data(as_text=True)
    assert stored_quotas(plan) == {"Quảng Bình": 40, "Quảng Ngọc": 1200}
    assert "Vượt quá chỉ tiêu cấp trên giao 1.140" in response.get_data(as_text=True)
    # Emptying a field removes that quota.
    client.post(f"/ke-hoach/{plan.id}/chi-tieu", data={f"q-{binh.id}-amount": "40"})
    assert stored_quotas(plan) == {"Quảng Bình": 40}


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-3", "Không được là số âm."),
        ("1,5", "số nguyên không âm"),
        ("mười", "số nguyên không âm"),
        ("12.34", "số nguyên không âm"),
    ],
)
def test_quota_grid_is_all_or_nothing_with_the_message_on_the_wrong_row(
    client, setup, typed, message
):
    plan, _, (binh, ngoc, tien) = setup
    plans.set_quotas(plan, {binh: 10})
    f.commit()
    response = client.post(
        f"/ke-hoach/{plan.id}/chi-tieu",
        data={
            f"q-{binh.id}-amount": "30",
            f"q-{ngoc.id}-amount": typed,
            f"q-{tien.id}-amount": "7",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    row = page.split(f'id="q-{ngoc.id}-amount"', 1)[1].split("</tr>", 1)[0]
    assert message in row
    assert f'value="{typed}"' in page and 'value="30"' in page  # what was typed, shown again
    assert stored_quotas(plan) == {"Quảng Bình": 10}


def test_copy_quotas_from_another_plan_then_edit(client, setup):
    plan, district, (binh, ngoc, _) = setup
    last_year = f.plan(district, number="9/KH-BCĐ", issued_on=date(2020, 3, 1), year=2020)
    plans.set_quotas(last_year, {binh: 35, ngoc: 25})
    f.commit()
    page = client.get(f"/ke-hoach/{plan.id}/chi-tieu?copy_from={last_year.id}").get_data(
        as_text=True
    )
    assert "Đã chép chỉ tiêu từ kế hoạch 9/KH-BCĐ" in page
    assert f'name="q-{binh.id}-amount" value="35"' in page
    assert stored_quotas(plan) == {}  # nothing saved until the organiser saves
    client.post(
        f"/ke-hoach/{plan.id}/chi-tieu",
        data={f"q-{binh.id}-amount": "35", f"q-{ngoc.id}-amount": "30"},
    )
    assert stored_quotas(plan) == {"Quảng Bình": 35, "Quảng Ngọc": 30}
    assert client.get(f"/ke-hoach/{plan.id}/chi-tieu?copy_from=999999").status_code == 404


def grid_figures(page: str) -> dict[str, str]:
    """The quota grid's figures as the server renders them."""

    def after(marker: str, end: str) -> str:
        return page.split(marker, 1)[1].split(end, 1)[0].rsplit(">", 1)[-1].strip()

    return {
        "typed": after('id="running-total"', "</output>"),
        "left": after('id="running-gap"', "</output>"),
        "stored": re.search(r"Đã phân bổ theo số đã lưu [^:]*: ([\d.]+)\.", page)[1],
    }


def test_quota_grid_counts_nested_holders_once_and_states_what_is_stored(client, setup):
    """A union's quota inside its commune's is not added again; after a refused save and
    after a copy, the allocated figure is what is stored, the typed one is apart."""
    plan, district, (binh, ngoc, _) = setup
    union = f.unit("CĐCS Trường THCS Quảng Bình", "union", binh)
    plans.set_quotas(plan, {binh: 40, union: 10, ngoc: 30})
    last_year = f.plan(district, number="9/KH-BCĐ", issued_on=date(2020, 3, 1), year=2020)
    plans.set_quotas(last_year, {binh: 35, union: 20, ngoc: 25})
    f.commit()
    grid = f"/ke-hoach/{plan.id}/chi-tieu"

    page = client.get(grid).get_data(as_text=True)
    assert grid_figures(page) == {"typed": "70", "left": "30", "stored": "70"}
    assert f'data-unit="{union.id}" data-parent="{binh.id}"' in page

    refused = {f"q-{binh.id}-amount": "50", f"q-{union.id}-amount": "5"}
    refused[f"q-{ngoc.id}-amount"] = "-3"
    page = client.post(grid, data=refused).get_data(as_text=True)
    assert "Chưa lưu" in page
    assert grid_figures(page) == {"typed": "50", "left": "50", "stored": "70"}

    page = client.get(f"{grid}?copy_from={last_year.id}").get_data(as_text=True)
    assert grid_figures(page) == {"typed": "60", "left": "40", "stored": "70"}
    assert stored_quotas(plan) == {"Quảng Bình": 40, union.name: 10, "Quảng Ngọc": 30}


def test_copying_from_a_plan_out_of_sight_answers_as_from_a_missing_plan(client, setup):
    plan, district, _ = setup
    elsewhere = f.plan(f.unit("Huyện Khác", "district", district.parent), number="7/KH-BCĐ")
    f.commit()

    def copied_from(plan_id: int) -> tuple[int, str]:
        response = client.get(f"/ke-hoach/{plan.id}/chi-tieu?copy_from={plan_id}")
        return response.status_code, response.get_data(as_text=True)

    assert copied_from(elsewhere.id) == copied_from(999999)
    assert copied_from(999999)[0] == 404


def test_result_grid(client, setup):
    plan, _, (binh, ngoc, tien) = setup
    drive = f.drive(plan)
    f.result(drive, tien, 3, state="approved")
    f.commit()
    url = f"/ke-hoach/{plan.id}/dot/{drive.id}/ket-qua"
    row = {
        f"r-{binh.id}-registered": "50",
        f"r-{binh.id}-deferred": "5",
        f"r-{binh.id}-bags_250": "10",
        f"r-{binh.id}-bags_350": "30",
        f"r-{binh.id}-bags_450": "5",
    }
    # Each row stands alone: a wrong row keeps what was typed and its message, the others
    # are saved.
    bad = client.post(url, data={**row, f"r-{ngoc.id}-bags_250": "-1"}).get_data(as_text=True)
    assert "Không được là số âm." in bad and "Đã lưu 1 dòng" in bad
    db.session.rollback()
    stored = db.session.scalars(select(Result.unit_id).order_by(Result.unit_id)).all()
    assert stored == sorted([binh.id, tien.id])
    assert client.post(url, data=row).status_code == 302  # unchanged rows: nothing to do
    db.session.rollback()
    saved = db.session.scalar(select(Result).where(Result.unit_id == binh.id))
    assert (saved.bags_250, saved.bags_350, saved.bags_450, saved.state) == (10, 30, 5, "submitted")
    # A save from a page loaded before someone else's save is refused, nothing changes.
    stale = {**row, f"r-{binh.id}-bags_250": "9", f"r-{binh.id}-version": str(saved.version - 1)}
    page = client.post(url, data=stale).get_data(as_text=True)
    assert "vừa được người khác thay đổi" in page
    assert fresh(Result, saved.id).bags_250 == 10


def test_plan_pages_need_the_organisers_scope(client, auth, app):
    district, (binh,) = f.district_with_communes(["Quảng Bình"])
    plan = f.plan(district)
    other, _ = f.district_with_communes(["Hoằng Hóa"])
    stranger = f.user("organiser", [other])
    f.commit()
    auth.sign_in(stranger)
    for path in (
        f"/ke-hoach/{plan.id}/sua",
        f"/ke-hoach/{plan.id}/chi-tieu",
        f"/ke-hoach/{plan.id}/dot/moi",
    ):
        assert client.get(path).status_code == 403
    assert client.get("/ke-hoach/999999/chi-tieu").status_code == 404
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "access.refused"))


def test_result_grid_refuses_more_donors_and_deferred_than_registered_on_the_row(client, setup):
    plan, _, (binh, _ngoc, _tien) = setup
    drive = f.drive(plan)
    f.commit()
    url = f"/ke-hoach/{plan.id}/dot/{drive.id}/ket-qua"
    row = {
        f"r-{binh.id}-registered": "10",
        f"r-{binh.id}-deferred": "8",
        f"r-{binh.id}-bags_250": "20",
    }
    page = client.post(url, data=row).get_data(as_text=True)
    assert "Số đăng ký (10) nhỏ hơn số hiến thành công và không đủ điều kiện (28)." in page
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Result)) == 0


def test_dates_are_shown_day_first_in_a_text_field_and_read_as_typed(client, setup):
    """DOMAIN.md: dd/mm/yyyy whatever the browser's language, so no date picker."""
    plan, _, _ = setup
    page = client.get(f"/ke-hoach/{plan.id}/sua").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="issued_on"[^>]*>', page)
    assert field and 'type="text"' in field[0] and 'value="10/05/2021"' in field[0]
    client.post(
        f"/ke-hoach/{plan.id}/dot/moi",
        data={"name": "Đợt 2", "starts_on": "01/10/2022", "ends_on": "2/10/2022"},
    )
    db.session.rollback()
    drive = db.session.scalar(select(Drive).where(Drive.name == "Đợt 2"))
    assert (drive.starts_on, drive.ends_on) == (date(2022, 10, 1), date(2022, 10, 2))


def test_a_new_plan_says_quotas_come_next_and_offers_the_link_once(client, setup):
    _, district, _ = setup
    response = client.post("/ke-hoach/moi", data={**PLAN, "issuer_id": district.id})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bước tiếp theo: giao chỉ tiêu cho các đơn vị" in page
    db.session.rollback()
    plan = db.session.scalar(select(Plan).where(Plan.number == "16/KH-BCĐ"))
    quotas = f"/ke-hoach/{plan.id}/chi-tieu"
    assert f'href="{quotas}"' in page
    dashboard = client.get(f"/ke-hoach/{plan.id}").get_data(as_text=True)
    assert dashboard.count(f'href="{quotas}"') == 1
    assert "chưa giao chỉ tiêu cho đơn vị nào" in dashboard

    plans.set_quotas(fresh(Plan, plan.id), {setup[2][0]: 10})
    f.commit()
    assert "Bước tiếp theo" not in client.get(f"/ke-hoach/{plan.id}/sua").get_data(as_text=True)
    assert client.get(f"/ke-hoach/{plan.id}").get_data(as_text=True).count(f'href="{quotas}"') == 1


def test_the_drives_of_a_draft_plan_say_reporters_cannot_see_them_yet(client, setup):
    plan, _, _ = setup
    drive = f.drive(plan)
    plans.set_status(plan, "draft")
    f.commit()
    hidden = "các đơn vị chưa thấy đợt hiến máu để báo cáo"
    for url in (f"/ke-hoach/{plan.id}", f"/ke-hoach/{plan.id}/dot/{drive.id}/sua"):
        assert hidden in client.get(url).get_data(as_text=True), url
    plans.set_status(fresh(Plan, plan.id), "active")
    f.commit()
    for url in (f"/ke-hoach/{plan.id}", f"/ke-hoach/{plan.id}/dot/{drive.id}/sua"):
        assert hidden not in client.get(url).get_data(as_text=True), url
