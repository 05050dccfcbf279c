"""A plan read against an earlier one ("so với cùng kỳ"): a unit beside what the earlier plan
counted for it and for the units merged into it, the same on the dashboard, the unit page,
the Excel report and the API."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from fractions import Fraction

import openpyxl
import pytest

from campaign.extensions import db
from campaign.models import Plan
from campaign.rates import (
    Bags,
    CountingRule,
    Tally,
    UnitNode,
    change,
    compare,
    display_change,
    roll_up,
    summarize,
)
from campaign.services import exports, plans, units
from tests import factories as f

REFORM = date(2025, 7, 1)
BAG, ML250 = CountingRule.BAG, CountingRule.ML250


class Reform:
    """A 2025 province plan on the old tree (district, communes, a school under a
    commune), the reform of 1 July 2025, and a 2026 plan on the new tree."""

    def __init__(self) -> None:
        self.province = f.unit("Tỉnh Thanh Hóa", "province")
        district = f.unit("Huyện Quảng Xương", "district", self.province)
        luu, loc, thai, ngoc = (
            f.unit(name, "commune", district)
            for name in ("Quảng Lưu", "Quảng Lộc", "Quảng Thái", "Quảng Ngọc")
        )
        self.school = f.unit("Trường THCS Quảng Lưu", "school", luu)
        self.before = f.plan(
            self.province, number="10/KH-BCĐ", issued_on=date(2025, 1, 10), year=2025
        )
        plans.set_quotas(self.before, {luu: 20, loc: 20, thai: 10, ngoc: 10})
        drive = f.drive(self.before, day=date(2025, 3, 15))
        f.result(drive, luu, 10, state="approved")
        f.result(drive, self.school, 0, 5)  # 350 ml bags: one unit each, per bag
        f.result(drive, loc, 8)
        f.result(drive, thai, 4)
        f.result(drive, ngoc, 6)
        # The reform: three communes become one; the district closes.
        self.new = f.unit("Xã Quảng Bình", "commune", self.province, valid_from=REFORM)
        units.merge_units([luu, loc, thai], self.new, REFORM)
        units.move_unit(ngoc, self.province, REFORM)
        units.deactivate_unit(district, date(2025, 6, 30))
        self.ngoc = ngoc
        self.after = f.plan(
            self.province, number="05/KH-BCĐ", issued_on=date(2026, 1, 5), year=2026
        )
        plans.set_quotas(self.after, {self.new: 50, ngoc: 10, self.school: 5})
        drive = f.drive(self.after, day=date(2026, 3, 10))
        f.result(drive, self.new, 20)
        f.result(drive, self.school, 6)
        f.result(drive, ngoc, 9)
        self.organiser = f.user("organiser", [self.province])
        f.commit()


@pytest.fixture
def reform(app, fast_passwords) -> Reform:
    return Reform()


#: Unit name -> (previous_collected, change_percent) as the API gives them.
EXPECTED = {
    # 10 + 8 + 4 from the three old communes, and the school's 5 under Quảng Lưu then.
    "Xã Quảng Bình": (27, -3.7),  # 20 + 6 now: 26 against 27
    "Trường THCS Quảng Lưu": (5, 20.0),
    "Quảng Ngọc": (6, 50.0),
}


def _api_summary(client, reform: Reform, auth) -> dict:
    auth.sign_in(reform.organiser)
    response = client.get(f"/api/v1/plans/{reform.after.id}/summary")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_merged_commune_is_compared_with_its_old_communes_together(client, reform, auth):
    assert reform.after.compare_with_id == reform.before.id  # the issuer's plan of 2025
    data = _api_summary(client, reform, auth)
    got = {u["name"]: (u["previous_collected"], u["change_percent"]) for u in data["units"]}
    assert got == EXPECTED
    # Like for like: the tops the totals add (Quảng Bình and Quảng Ngọc), 35 against 33.
    assert data["totals"]["previous_collected"] == 33
    assert data["totals"]["collected"] == 35


def test_the_earlier_plan_keeps_its_own_figures(client, reform, auth):
    auth.sign_in(reform.organiser)
    data = client.get(f"/api/v1/plans/{reform.before.id}/summary").get_json()
    assert {u["name"]: u["collected"] for u in data["units"]} == {
        "Quảng Lưu": 15,
        "Quảng Lộc": 8,
        "Quảng Thái": 4,
        "Quảng Ngọc": 6,
    }
    # Nothing to compare the first year with.
    assert all(u["previous_collected"] is None for u in data["units"])
    assert data["totals"]["previous_collected"] is None


def test_dashboard_unit_page_and_excel_show_what_the_api_gives(client, reform, auth):
    data = _api_summary(client, reform, auth)
    page = client.get(f"/ke-hoach/{reform.after.id}").get_data(as_text=True)
    assert "Cùng kỳ 2025" in page and "So với cùng kỳ" in page
    assert "−3,7%" in page and "+50,0%" in page and "+6,1%" in page

    unit_page = client.get(f"/ke-hoach/{reform.after.id}/don-vi/{reform.new.id}")
    text = unit_page.get_data(as_text=True)
    assert "Cùng kỳ 2025" in text and "27 (−3,7%)" in text

    sheet = openpyxl.load_workbook(io.BytesIO(exports.summary_export(reform.after)))["Tổng hợp"]
    header = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "STT")
    previous, changed = header.index("Cùng kỳ 2025"), header.index("So với cùng kỳ")
    rows = {r[1]: r for r in sheet.iter_rows(values_only=True) if r[1]}
    for unit in data["units"]:
        row = rows[unit["name"]]
        assert row[previous] == unit["previous_collected"]
        assert row[changed] == pytest.approx(unit["change_percent"] / 100)
    total = rows["TỔNG CỘNG"]
    assert total[previous] == data["totals"]["previous_collected"] == 33


def test_a_plan_listed_page_by_page_compares_each_page_and_the_whole_total(
    client, reform, auth, app
):
    """A national plan's dashboard compares only the lines of the page it shows: each page
    shows what the API gives its lines, and every page the plan's compared total."""
    data = _api_summary(client, reform, auth)
    app.config["DASHBOARD_PAGE_SIZE"] = 1
    changes = {
        u["name"]: f"{u['change_percent']:+.1f}%".replace(".", ",").replace("-", "−")
        for u in data["units"]
    }
    for number in (1, 2, 3):
        page = client.get(f"/ke-hoach/{reform.after.id}?trang={number}").get_data(as_text=True)
        (name,) = [name for name in changes if f">{name}</a>" in page]
        assert changes.pop(name) in page
        assert "+6,1%" in page  # 35 against 33, the whole plan's
    assert not changes
    # The API's pages too.
    paged = client.get(f"/api/v1/plans/{reform.after.id}/summary?page=2&per_page=1").get_json()
    assert paged["units"] == data["units"][1:2]
    assert paged["totals"]["previous_collected"] == 33


def test_a_plan_compared_with_nothing_shows_no_comparison(client, reform, auth):
    auth.sign_in(reform.organiser)
    response = client.patch(f"/api/v1/plans/{reform.after.id}", json={"compare_with_plan_id": None})
    assert response.status_code == 200 and response.get_json()["compare_with_plan_id"] is None
    data = client.get(f"/api/v1/plans/{reform.after.id}/summary").get_json()
    assert {u["previous_collected"] for u in data["units"]} == {None}
    assert {u["change_percent"] for u in data["units"]} == {None}
    page = client.get(f"/ke-hoach/{reform.after.id}").get_data(as_text=True)
    assert "Cùng kỳ" not in page
    db.session.rollback()  # a new transaction sees what the requests committed
    plan = db.session.get(Plan, reform.after.id)
    sheet = openpyxl.load_workbook(io.BytesIO(exports.summary_export(plan)))["Tổng hợp"]
    header = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "STT")
    assert "So với cùng kỳ" not in header


# --- which plan is compared with ---------------------------------------------------------


def test_the_api_names_the_compared_plan_or_none(client, reform, auth):
    auth.sign_in(reform.organiser)
    body = {
        "number": "07/KH-BCĐ",
        "issued_on": "2026-02-01",
        "issuer_code": reform.province.code,
        "title": "Hiến máu tình nguyện năm 2026, đợt bổ sung",
        "year": 2026,
    }
    made = client.post("/api/v1/plans", json=body).get_json()
    assert made["compare_with_plan_id"] == reform.before.id  # left out: the year before
    made = client.post(
        "/api/v1/plans", json={**body, "number": "08/KH-BCĐ", "compare_with_plan_id": None}
    ).get_json()
    assert made["compare_with_plan_id"] is None
    made = client.post(
        "/api/v1/plans",
        json={**body, "number": "09/KH-BCĐ", "compare_with_plan_id": reform.after.id},
    ).get_json()
    assert made["compare_with_plan_id"] == reform.after.id
    again = client.get(f"/api/v1/plans/{made['id']}").get_json()
    assert again["compare_with_plan_id"] == reform.after.id


def test_a_plan_out_of_sight_or_itself_is_refused(client, reform, auth, app):
    elsewhere = f.unit("Tỉnh Nghệ An", "province")
    hidden = f.plan(elsewhere, issued_on=date(2025, 1, 2), year=2025)
    f.commit()
    auth.sign_in(reform.organiser)
    url = f"/api/v1/plans/{reform.after.id}"
    for value in (hidden.id, 10**6, reform.after.id):
        response = client.patch(url, json={"compare_with_plan_id": value})
        assert response.status_code == 422, response.get_json()
        assert set(response.get_json()["error"]["details"]) == {"compare_with_plan_id"}
    db.session.rollback()  # a new transaction sees what the requests committed
    assert db.session.get(Plan, reform.after.id).compare_with_id == reform.before.id


def test_patch_changes_the_status_and_closes_last(client, reform, auth):
    auth.sign_in(reform.organiser)
    url = f"/api/v1/plans/{reform.after.id}"
    closed = client.patch(url, json={"status": "closed", "compare_with_plan_id": None})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert closed.get_json()["compare_with_plan_id"] is None
    refused = client.patch(url, json={"compare_with_plan_id": reform.before.id})
    assert refused.status_code == 422
    reopened = client.patch(
        url, json={"status": "active", "compare_with_plan_id": reform.before.id}
    )
    assert reopened.status_code == 200, reopened.get_json()
    assert reopened.get_json()["status"] == "active"
    assert reopened.get_json()["compare_with_plan_id"] == reform.before.id
    bad = client.patch(url, json={"status": "finished"})
    assert bad.status_code == 422


def test_deleting_the_compared_plan_leaves_nothing_compared(client, reform, auth):
    spare = f.plan(reform.province, issued_on=date(2025, 2, 1), year=2025)
    plans.set_comparison(reform.after, spare)
    f.commit()
    plans.remove_plan(spare)
    f.commit()
    db.session.rollback()  # a new transaction sees what the requests committed
    assert db.session.get(Plan, reform.after.id).compare_with_id is None


def test_the_plan_form_compares_with_the_year_before_unless_told(client, reform, auth):
    auth.sign_in(reform.organiser)
    form = {
        "number": "11/KH-BCĐ",
        "issued_on": "05/01/2026",
        "issuer_id": reform.province.id,
        "title": "Hiến máu năm 2026",
        "year": "2026",
        "counting_rule": "bag",
        "parent_id": "0",
        "compare_with_id": "auto",
    }
    assert client.post("/ke-hoach/moi", data=form).status_code == 302
    db.session.rollback()
    made = db.session.scalar(db.select(Plan).where(Plan.number == "11/KH-BCĐ"))
    assert made.compare_with_id == reform.before.id

    edit = client.get(f"/ke-hoach/{made.id}/sua").get_data(as_text=True)
    assert f'<option selected value="{reform.before.id}">' in edit
    response = client.post(f"/ke-hoach/{made.id}/sua", data={**form, "compare_with_id": "none"})
    assert response.status_code == 302
    db.session.rollback()  # a new transaction sees what the requests committed
    assert db.session.get(Plan, made.id).compare_with_id is None

    page = client.post(f"/ke-hoach/{made.id}/sua", data={**form, "compare_with_id": "999999"})
    assert page.status_code == 200 and "Lựa chọn không hợp lệ." in page.get_data(as_text=True)


# --- the rule, on plain values ------------------------------------------------------------


def node(uid: int, parent: int | None, name: str = "") -> UnitNode:
    return UnitNode(uid, parent, f"U{uid}", name or f"Đơn vị {uid}", "commune")


def tally(bags: int) -> Tally:
    return Tally(1, bags, 0, Bags(bags, 0, 0))


def test_each_predecessor_is_counted_once_through_chained_mergers():
    # Earlier tree: 1 > (2 > 5), 3, 4. Unit 2 merged into 6, then 6 and 3 into 7; unit 5
    # (under 2 then) also merged into 7, and must not count twice.
    before = [node(1, None), node(2, 1), node(3, 1), node(4, 1), node(5, 2)]
    tallies = {2: tally(10), 3: tally(7), 4: tally(100), 5: tally(1)}
    now = [node(1, None), node(7, 1), node(4, 1)]
    made = summarize(now, {7: 20, 4: 50}, {}, BAG)
    compared = compare(made, roll_up(before, tallies), BAG, {2: 6, 6: 7, 3: 7, 5: 7})
    assert compared.of(7) == 18  # 2 (with 5 under it) and 3
    assert compared.of(4) == 100
    assert compared.total == 118


def test_a_unit_new_since_has_nothing_to_compare_with():
    before = [node(1, None), node(2, 1)]
    made = summarize([node(1, None), node(2, 1), node(3, 1)], {2: 5, 3: 5}, {}, BAG)
    compared = compare(made, roll_up(before, {}), BAG, {})
    assert compared.of(3) is None
    assert compared.of(2) == 0  # in the earlier tree, with nothing counted
    assert compared.total == 0
    assert change(Fraction(4), compared.of(2)) is None  # nothing to divide by


def test_the_earlier_plan_counts_by_its_own_rule():
    before = [node(1, None), node(2, 1)]
    tallies = {2: Tally(1, 10, 0, Bags(0, 0, 10))}  # ten 450 ml bags
    made = summarize(before, {2: 5}, {}, BAG)
    assert compare(made, roll_up(before, tallies), ML250, {}).of(2) == 18
    assert compare(made, roll_up(before, tallies), BAG, {}).of(2) == 10


def test_a_change_never_shows_the_wrong_sign():
    assert display_change(change(Fraction(26), Fraction(27))) == Decimal("-3.7")
    assert display_change(Fraction(1, 10_000)) == Decimal("0.1")
    assert display_change(Fraction(-1, 10_000)) == Decimal("-0.1")
    assert display_change(Fraction(0)) == Decimal("0.0")
    assert display_change(None) is None


def test_the_total_compares_only_the_units_that_have_a_previous_figure():
    """A province's new communes with no predecessor would make "+2.772,8 %" of a total
    compared with the few that have one: the total compares like with like."""
    before = [node(1, None), node(2, 1)]
    tallies = {2: tally(10)}
    now = [node(1, None), node(2, 1), node(3, 1)]
    made = summarize(now, {2: 5, 3: 5}, {2: tally(20), 3: tally(100)}, BAG)
    compared = compare(made, roll_up(before, tallies), BAG, {})
    assert (compared.total_now, compared.total) == (20, 10)
    assert made.totals.collected == 120
    assert display_change(change(compared.total_now, compared.total)) == Decimal("100.0")
    assert compared.totals_of(made.lines[1:]) == (None, None)  # unit 3 alone: nothing
