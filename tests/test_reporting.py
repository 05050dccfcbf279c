"""Reports on time: who a drive expects a report from, and whether each came on time,
judged in Vietnam days (on every engine the tests run on)."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from campaign.extensions import db
from campaign.models import OrgUnit
from campaign.rates import Timeliness
from campaign.services import plans, reporting, results
from tests import factories as f

#: The drive of 11/06/2021 is due on 14/06/2021 (set below).
DUE = date(2021, 6, 14)
LATER = date(2021, 6, 30)


@pytest.fixture
def world(app):
    district, units = f.district_with_communes(
        ["Quảng Bình", "Quảng Hải", "Quảng Lộc", "Quảng Ngọc", "Quảng Yên"]
    )
    plan = f.plan(district)
    plans.set_quotas(plan, dict.fromkeys(units[:4], 20))  # Quảng Yên has no quota
    drive = f.drive(plan)
    drive.report_due_on = DUE
    f.commit()
    return drive, dict(zip(["binh", "hai", "loc", "ngoc", "yen"], units, strict=True))


def at(monkeypatch, utc: datetime) -> None:
    """Saves made from now on are stamped ``utc`` (stored naive, in UTC)."""
    monkeypatch.setattr(results, "utcnow", lambda: utc)


def judged(drive, today=LATER, within=None) -> dict[str, tuple[str, int | None]]:
    within = within if within is not None else select(OrgUnit.id)
    made = reporting.drive_reporting(drive, within, today)
    # The dashboard's line per drive reads the totals alone, from plain columns: the same.
    assert reporting.drive_totals(drive, within, today).totals == made.totals
    return {
        row.unit.name: (row.timeliness.state.value, row.timeliness.days_late) for row in made.units
    }


def test_on_time_late_overdue_and_a_unit_without_quota_that_reported(world, monkeypatch):
    drive, u = world
    # 23:30 in Vietnam on the deadline day is 16:30 UTC: on time.
    at(monkeypatch, datetime(2021, 6, 14, 16, 30))
    f.result(drive, u["binh"], 5)
    # 00:30 in Vietnam the day after is still 14/06 in UTC: late by one day.
    at(monkeypatch, datetime(2021, 6, 14, 17, 30))
    f.result(drive, u["hai"], 5, state="approved")
    at(monkeypatch, datetime(2021, 6, 20, 3, 0))
    f.result(drive, u["yen"], 5)  # no quota, reported anyway: expected, and late
    f.result(drive, u["loc"], 5, state="draft")  # a draft is not a report received

    assert judged(drive) == {
        "Quảng Bình": ("on_time", None),
        "Quảng Hải": ("late", 1),
        "Quảng Lộc": ("overdue", 16),
        "Quảng Ngọc": ("overdue", 16),
        "Quảng Yên": ("late", 6),
    }
    made = reporting.drive_reporting(drive, select(OrgUnit.id), LATER).totals
    assert (made.expected, made.received, made.on_time, made.late, made.overdue) == (
        5, 3, 1, 2, 2
    )  # fmt: skip


def test_before_the_deadline_a_missing_report_is_not_due(world):
    drive, _u = world
    assert set(judged(drive, today=DUE).values()) == {("not_due", None)}
    assert set(judged(drive, today=date(2021, 6, 15)).values()) == {("overdue", 1)}


def test_a_report_returned_is_owed_again_and_judged_by_its_latest_submission(world, monkeypatch):
    drive, u = world
    at(monkeypatch, datetime(2021, 6, 12, 2, 0))
    sent = f.result(drive, u["binh"], 5)
    assert judged(drive)["Quảng Bình"] == ("on_time", None)

    at(monkeypatch, datetime(2021, 6, 13, 2, 0))
    results.return_for_correction(sent, "Thiếu số túi 350 ml")
    # Returned: it counts nowhere, so after the deadline it is overdue (still expected).
    assert judged(drive)["Quảng Bình"] == ("overdue", 16)

    at(monkeypatch, datetime(2021, 6, 17, 2, 0))
    again = results.find(drive, u["binh"])
    results.save(
        drive, u["binh"], results.Counts(6, 0, 6), expected_version=again.version, submit=True
    )
    made = reporting.drive_reporting(drive, select(OrgUnit.id), LATER)
    row = next(r for r in made.units if r.unit.name == "Quảng Bình")
    assert (row.timeliness.state, row.timeliness.days_late) == (Timeliness.LATE, 3)
    assert row.submitted_at == datetime(2021, 6, 17, 2, 0)


def test_a_report_withdrawn_and_sent_again_is_judged_by_when_it_was_sent_again(world, monkeypatch):
    drive, u = world
    at(monkeypatch, datetime(2021, 6, 12, 2, 0))
    sent = f.result(drive, u["loc"], 5)
    results.withdraw(sent)
    at(monkeypatch, datetime(2021, 6, 16, 2, 0))
    results.save(
        drive, u["loc"], results.Counts(5, 0, 5), expected_version=sent.version, submit=True
    )
    assert judged(drive)["Quảng Lộc"] == ("late", 2)


def test_only_the_units_within_the_scope_are_expected(world):
    drive, u = world
    within = select(OrgUnit.id).where(OrgUnit.id.in_([u["binh"].id, u["yen"].id]))
    made = reporting.drive_reporting(drive, within, LATER)
    assert [row.unit.name for row in made.units] == ["Quảng Bình"]  # Yên: no quota, no report
    assert reporting.drive_totals(drive, within, LATER).totals == made.totals
    db.session.rollback()


def test_the_dashboard_judges_every_drive_of_a_plan_as_each_drives_own_page(world, monkeypatch):
    """The dashboard reads every drive's totals at once: the same as each drive's page,
    whichever units each drive expects."""
    drive, u = world
    later = f.drive(drive.plan, "Đợt 2", date(2021, 6, 20))
    later.report_due_on = date(2021, 6, 25)
    at(monkeypatch, datetime(2021, 6, 13, 2, 0))
    f.result(drive, u["binh"], 5)
    f.result(later, u["yen"], 4)  # no quota: expected by the second drive alone
    at(monkeypatch, datetime(2021, 6, 26, 2, 0))
    f.result(later, u["hai"], 5, state="approved")
    f.result(later, u["loc"], 5, state="returned")
    within = select(OrgUnit.id)
    for today in (DUE, LATER):
        each = [reporting.drive_reporting(d, within, today).totals for d in (drive, later)]
        together = reporting.drives_totals([drive, later], within, today)
        assert [t.drive for t in together] == [drive, later]
        assert [t.totals for t in together] == each
    second = reporting.drives_totals([drive, later], within, LATER)[1].totals
    assert (second.expected, second.received, second.on_time, second.late) == (5, 2, 1, 1)


def test_a_plan_without_quotas_expects_the_units_below_its_issuer_on_each_drives_day(app):
    """Without a quota holder, each drive expects the units below the issuer that exist on
    its day: a commune founded between two drives is expected by the second only."""
    district, units = f.district_with_communes(["Quảng Bình", "Quảng Hải"])
    f.unit("Xã Quảng Mới", "commune", district, valid_from=date(2021, 7, 1))
    plan = f.plan(district)
    first, second = f.drive(plan), f.drive(plan, "Đợt 2", date(2021, 8, 1))
    f.result(first, units[0], 5)
    f.commit()
    within = select(OrgUnit.id)
    together = reporting.drives_totals([first, second], within, LATER)
    each = [reporting.drive_reporting(d, within, LATER).totals for d in (first, second)]
    assert [t.totals for t in together] == each
    assert [t.totals.expected for t in together] == [2, 3]
    scoped = select(OrgUnit.id).where(OrgUnit.id == units[1].id)
    assert [t.totals.expected for t in reporting.drives_totals([first, second], scoped, LATER)] == [
        1,
        1,
    ]


def test_the_drive_page_and_the_dashboard_show_the_reporting_rate(client, auth, world, monkeypatch):
    drive, u = world
    at(monkeypatch, datetime(2021, 6, 13, 2, 0))
    f.result(drive, u["binh"], 5)
    at(monkeypatch, datetime(2021, 6, 16, 2, 0))
    f.result(drive, u["hai"], 5)
    leader = f.user("leader", [drive.plan.issuer])
    f.commit()
    monkeypatch.setattr("campaign.reports.routes.vietnam_today", lambda: LATER)
    monkeypatch.setattr("campaign.main.routes.vietnam_today", lambda: LATER)
    auth.sign_in(leader)

    page = client.get(f"/bao-cao/dot/{drive.id}").get_data(as_text=True)
    owing = page.split('id="chua-bao-cao"')[1].split("Báo cáo đã nhận")[0]
    received = page.split("Báo cáo đã nhận")[1]
    assert "<dt>Phải báo cáo</dt><dd>4</dd>" in page
    assert "<dt>Đã nhận</dt><dd>2 (50,0%)</dd>" in page
    assert "<dt>Quá hạn</dt><dd>2</dd>" in page
    assert "Quảng Lộc" in owing and "Quá hạn 16 ngày" in owing and "Quảng Bình" not in owing
    assert "Trễ hạn 2 ngày" in received and "Đúng hạn" in received
    assert "/nhac" not in page  # leaders read; no reminder button

    board = client.get(f"/ke-hoach/{drive.plan_id}").get_data(as_text=True)
    table = board.split('id="bao-cao-dung-han"')[1].split("</table>")[0]
    cells = [c.strip() for c in re.findall(r'<td class="num">(.*?)</td>', table)]
    assert cells == ["4", "2", "50,0%", "1", "1", "2"]
