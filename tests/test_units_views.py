"""The unit pages: accent-insensitive search, the forms' rules, moving, closing, merging."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import AuditEntry, OrgUnit, UnitMove
from campaign.services import plans, units
from campaign.services.errors import ServiceError
from campaign.services.scope import Scope
from campaign.services.summary import plan_summary
from tests import factories as f

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def district(app, client, auth):
    district, communes = f.district_with_communes(["Quảng Bình", "Quảng Ngọc", "Tiên Trang"])
    organiser = f.user("organiser", [district])
    f.commit()
    auth.sign_in(organiser)
    return district, communes


def count_units() -> int:
    db.session.rollback()  # see what the requests committed
    return db.session.scalar(select(func.count()).select_from(OrgUnit))


@pytest.mark.parametrize("query", ["quang binh", "QUANG  BINH", "Quảng Bình", "quảng bình"])
def test_search_ignores_accents_and_case(client, district, query):
    page = client.get("/don-vi/", query_string={"q": query}).get_data(as_text=True)
    assert "Quảng Bình" in page
    assert "Quảng Ngọc" not in page
    assert "Tiên Trang" not in page


def test_tree_lists_the_scope_with_children_under_parents(client, district):
    page = client.get("/don-vi/").get_data(as_text=True)
    assert page.index("Huyện Quảng Xương") < page.index("Quảng Bình") < page.index("Tiên Trang")
    assert "Tỉnh Thanh Hóa" not in page  # above the organiser's scope


def test_create_unit(client, district):
    parent, _ = district
    response = client.post(
        "/don-vi/moi",
        data={
            "code": "QX-TRUONG",
            "name": "Trường THPT Quảng Xương 1",
            "kind": "school",
            "parent_id": parent.id,
        },
    )
    assert response.status_code == 302
    db.session.rollback()
    assert (
        db.session.scalar(select(OrgUnit).where(OrgUnit.code == "QX-TRUONG")).parent_id == parent.id
    )


def test_a_unit_s_contact_e_mail_is_kept_trimmed_and_shown_on_its_form(client, district):
    parent, (binh, *_) = district
    data = {"code": binh.code, "name": binh.name, "kind": "commune", "parent_id": parent.id}
    response = client.post(
        f"/don-vi/{binh.id}/sua", data={**data, "contact_email": " cd.quangbinh@gmail.com "}
    )
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(OrgUnit, binh.id).contact_email == "cd.quangbinh@gmail.com"
    form = client.get(f"/don-vi/{binh.id}/sua").get_data(as_text=True)
    assert 'value="cd.quangbinh@gmail.com"' in form


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": ""}, "Nhập mã đơn vị."),
        ({"name": "  "}, "Nhập tên đơn vị."),
        ({"code": "DUP"}, "Mã đơn vị DUP đã được dùng."),
        (
            {"valid_from": "31/12/2025", "valid_to": "01/01/2025"},
            "Ngày bắt đầu hiệu lực phải trước",
        ),
        ({"valid_from": "32/13/2025"}, "Ngày không hợp lệ"),
        ({"kind": "castle"}, "Lựa chọn không hợp lệ."),
        ({"parent_id": "999999"}, "Lựa chọn không hợp lệ."),
        ({"contact_email": "congdoan.quangbinh@"}, "Địa chỉ e-mail không hợp lệ"),
        ({"contact_email": "hai @example.vn"}, "Địa chỉ e-mail không hợp lệ"),
    ],
)
def test_unit_form_rules_show_the_message_and_keep_what_was_typed(
    client, district, changes, message
):
    parent, (binh, *_) = district
    binh.code = "DUP"
    f.commit()
    before = count_units()
    data = {"code": "NEW-1", "name": "Xã Mới Gõ", "kind": "commune", "parent_id": parent.id}
    response = client.post("/don-vi/moi", data={**data, **changes})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert 'value="Xã Mới Gõ"' in page or changes.get("name")
    assert count_units() == before


def test_a_code_differing_only_in_case_is_refused_by_the_code_field(client, district):
    parent, _ = district
    elsewhere = f.unit("Xã Bí Mật", "commune", f.unit("Huyện Khác", "district"), code="KH-BIMAT")
    f.commit()
    before = count_units()
    data = {"code": "kh-bimat", "name": "Xã Mới Gõ", "kind": "commune", "parent_id": parent.id}
    page = client.post("/don-vi/moi", data=data).get_data(as_text=True)
    assert (
        '<p class="error" id="code-error">Mã đơn vị kh-bimat đã được dùng: mã đơn vị không '
        "phân biệt chữ hoa, chữ thường.</p>"
    ) in page
    assert 'value="kh-bimat"' in page and 'value="Xã Mới Gõ"' in page
    assert elsewhere.name not in page  # the unit holding it is in another district
    assert count_units() == before


def test_a_code_taken_at_the_same_moment_gets_the_message_not_an_error_page(
    client, district, monkeypatch
):
    """Two requests may both pass the service's check; the unique index refuses the second."""
    parent, (binh, ngoc, _) = district
    monkeypatch.setattr(units, "_check_code", lambda code, unit=None: code.strip())
    before = count_units()
    data = {"code": binh.code.lower(), "name": "Xã Mới Gõ", "kind": "commune"}
    created = client.post("/don-vi/moi", data={**data, "parent_id": parent.id})
    edited = client.post(f"/don-vi/{ngoc.id}/sua", data={**data, "parent_id": parent.id})
    for response in (created, edited):
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert f'id="code-error">Mã đơn vị {binh.code.lower()} đã được dùng.</p>' in page
    assert count_units() == before
    assert db.session.get(OrgUnit, ngoc.id).name == "Quảng Ngọc"


def test_a_unit_may_change_the_case_of_its_own_code(client, district):
    parent, (binh, *_) = district
    data = {"code": binh.code.lower(), "name": binh.name, "kind": "commune", "parent_id": parent.id}
    assert client.post(f"/don-vi/{binh.id}/sua", data=data).status_code == 302
    db.session.rollback()
    assert db.session.get(OrgUnit, binh.id).code == binh.code.lower()


def test_a_parent_outside_the_scope_reads_as_one_that_does_not_exist(client, district):
    """``?parent=`` preselects a unit of one's scope; any other id gives the same page."""
    parent, (binh, *_) = district
    province = db.session.get(OrgUnit, parent.parent_id)  # above the organiser's scope
    elsewhere = f.unit("Xã Bí Mật", "commune", f.unit("Huyện Khác", "district", province))
    f.commit()

    def page(unit_id: int) -> tuple[int, str]:
        response = client.get("/don-vi/moi", query_string={"parent": unit_id})
        # A CSRF token carries the second it was signed: two pages a second apart differ.
        text = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', response.text)
        return response.status_code, text

    assert f'<option selected value="{binh.id}">' in page(binh.id)[1]
    assert page(elsewhere.id) == page(province.id) == page(999999) == page(0)
    assert page(999999)[0] == 200 and "selected" not in page(999999)[1]


def test_a_unit_cannot_become_its_own_ancestor(client, district):
    parent, (binh, *_) = district
    union = f.unit("CĐCS Trường Tiểu học", "union", binh)
    with pytest.raises(ServiceError, match="chính nó"):
        units.update_unit(binh, code=binh.code, name=binh.name, kind="commune", parent=union)
    f.commit()
    # The form offers no unit of the subtree; posting one anyway is refused, nothing moves.
    response = client.post(
        f"/don-vi/{binh.id}/sua",
        data={"code": binh.code, "name": binh.name, "kind": "commune", "parent_id": union.id},
    )
    assert "Lựa chọn không hợp lệ." in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(OrgUnit, binh.id).parent_id == parent.id


def test_move_and_deactivate(client, district):
    parent, (binh, ngoc, _) = district
    union = f.unit("CĐCS Trạm Y tế", "union", binh)
    f.commit()
    response = client.post(
        f"/don-vi/{union.id}/sua",
        data={"code": union.code, "name": union.name, "kind": "union", "parent_id": ngoc.id},
    )
    assert response.status_code == 302
    response = client.post(f"/don-vi/{binh.id}/ngung", data={"last_day": "2025-06-30"})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(OrgUnit, union.id).parent_id == ngoc.id
    assert db.session.get(OrgUnit, binh.id).valid_to == date(2025, 6, 30)
    move = db.session.scalar(select(UnitMove))
    assert (move.unit_id, move.from_parent_id, move.to_parent_id) == (union.id, binh.id, ngoc.id)
    assert move.moved_on == date.today()  # the day left empty


def test_the_move_form_takes_a_day_and_earlier_plans_keep_their_figures(client, district):
    parent, (binh, ngoc, _) = district
    union = f.unit("CĐCS Trạm Y tế", "union", binh)
    plan = f.plan(parent, issued_on=date(2021, 5, 10))
    plans.set_quotas(plan, {binh: 10, ngoc: 10})
    f.result(f.drive(plan), union, 4)
    f.commit()
    fields = {"code": union.code, "name": union.name, "kind": "union", "parent_id": ngoc.id}
    page = client.get(f"/don-vi/{union.id}/sua").text
    assert "Chuyển sang cấp trên mới từ ngày" in page and "cấp trên cũ" in page

    refused = client.post(f"/don-vi/{union.id}/sua", data={**fields, "moved_on": "31/02/2022"})
    assert "Ngày không hợp lệ" in refused.text and count_moves() == 0
    client.post(f"/don-vi/{union.id}/sua", data={**fields, "moved_on": "01/01/2022"})
    assert count_moves() == 1
    figures = {line.unit.name: line.collected for line in plan_summary(plan).lines}
    assert figures == {"Quảng Bình": 4, "Quảng Ngọc": 0}  # 2021: the union was under Bình

    back = {**fields, "parent_id": binh.id, "moved_on": "2021-12-31"}
    page = client.post(f"/don-vi/{union.id}/sua", data=back).text
    assert "Ngày chuyển phải từ 01/01/2022 trở đi" in page and count_moves() == 1


def count_moves() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(UnitMove))


def test_leaders_read_units_but_change_nothing_and_foreign_ids_are_refused(client, auth, app):
    district, (binh,) = f.district_with_communes(["Quảng Bình"])
    other, (far,) = f.district_with_communes(["Hoằng Hóa"])
    leader = f.user("leader", [district])
    f.commit()
    auth.sign_in(leader)
    assert client.get("/don-vi/").status_code == 200
    assert client.get("/don-vi/moi").status_code == 403
    assert client.get(f"/don-vi/{binh.id}/sua").status_code == 403
    assert client.get("/don-vi/999999/sua").status_code in (403, 404)


def test_merge_keeps_the_old_units_and_their_history(client, district):
    parent, (binh, ngoc, tien) = district
    union = f.unit("CĐCS Trường Tiểu học Quảng Bình", "union", binh)
    old_plan = f.plan(parent, issued_on=date(2021, 5, 10))
    plans.set_quotas(old_plan, {binh: 40, ngoc: 20, tien: 10})
    drive = f.drive(old_plan)
    f.result(drive, binh, 45)
    f.result(drive, union, 5)
    f.commit()
    before = [(line.unit.name, line.collected) for line in plan_summary(old_plan).lines]

    response = client.post(
        "/don-vi/gop",
        data={
            "sources": [binh.id, ngoc.id],
            "starts_on": "2025-07-01",
            "target_id": 0,
            "code": "QX-QBN",
            "name": "Xã Quảng Bình Ngọc",
            "kind": "commune",
            "parent_id": parent.id,
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Đã sáp nhập vào Xã Quảng Bình Ngọc" in page
    assert "Các đơn vị trực thuộc đã chuyển sang Xã Quảng Bình Ngọc" in page
    assert "CĐCS Trường Tiểu học Quảng Bình" in page
    db.session.rollback()
    merged = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "QX-QBN"))
    assert merged.valid_from == date(2025, 7, 1)
    for old in (db.session.get(OrgUnit, binh.id), db.session.get(OrgUnit, ngoc.id)):
        assert old.valid_to == date(2025, 6, 30)
        assert old.merged_into_id == merged.id
    assert db.session.get(OrgUnit, union.id).parent_id == merged.id  # moved from 1/7/2025
    assert dict(before)["Quảng Bình"] == 50  # its own 45 and its union's 5
    assert [(line.unit.name, line.collected) for line in plan_summary(old_plan).lines] == before

    # A plan after the merger offers the new commune, not the old ones, and starts
    # from the old quotas added up when copied.
    new_plan = f.plan(parent, number="3/KH-BCĐ", issued_on=date(2026, 1, 5), year=2026)
    f.commit()
    names = [row.unit.name for row in plans.grid_units(new_plan)]
    assert "Xã Quảng Bình Ngọc" in names and "Quảng Bình" not in names
    assert plans.copied_quotas(old_plan, [merged.id, tien.id]) == {merged.id: 60, tien.id: 10}


def test_merge_rules(client, district):
    parent, (binh, ngoc, _) = district
    f.commit()
    before = count_units()
    cases = [
        ({"sources": [binh.id], "target_id": binh.id}, "không được nằm trong"),
        ({"sources": [], "target_id": ngoc.id}, "Chọn ít nhất một đơn vị"),
        ({"sources": [binh.id], "target_id": 0, "code": "", "name": ""}, "Nhập mã và tên"),
        ({"sources": [binh.id], "target_id": ngoc.id, "starts_on": "x"}, "Ngày không hợp lệ"),
    ]
    for data, message in cases:
        response = client.post(
            "/don-vi/gop",
            data={"starts_on": "2025-07-01", "kind": "commune", "parent_id": parent.id, **data},
        )
        assert message in response.get_data(as_text=True), message
    assert count_units() == before
    db.session.rollback()
    assert db.session.get(OrgUnit, binh.id).valid_to is None


def test_creation_is_refused_by_the_units_service_before_anything_is_written(
    client, district, monkeypatch
):
    """The pages ask the units service, which asks ``can_add_unit`` before writing: a refusal
    answers 403 and keeps only the refused access in the audit trail."""
    parent, (binh, *_) = district
    monkeypatch.setattr(Scope, "can_add_unit", lambda self, parent: False)
    before = count_units()
    data = {"code": "X-NEW", "name": "Xã Ngoài Phạm Vi", "kind": "commune", "parent_id": parent.id}
    assert client.post("/don-vi/moi", data=data).status_code == 403
    merge = {"sources": [binh.id], "target_id": 0, "code": "X-NEW", "name": "Xã Mới"}
    merge |= {"kind": "commune", "parent_id": parent.id, "starts_on": "2025-07-01"}
    assert client.post("/don-vi/gop", data=merge).status_code == 403
    assert count_units() == before
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "unit.create" not in actions[-2:] and actions[-2:] == ["access.refused"] * 2
