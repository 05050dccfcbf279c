"""The summary service against a real database: the figures, and a fixed query count."""

from __future__ import annotations

from fractions import Fraction

import pytest

from campaign.extensions import db
from campaign.rates import Status
from campaign.services import plans
from campaign.services.summary import plan_summary
from tests import factories as f


def test_worked_example_per_bag_and_ml250(app):
    district, (binh,) = f.district_with_communes(["Quảng Bình"])
    for rule, collected, percent in (("bag", 45, "112.5"), ("ml250", 61, "152.5")):
        plan = f.plan(district, rule=rule)
        plans.set_quotas(plan, {binh: 40})
        f.result(f.drive(plan), binh, 10, 30, 5, state="approved")
        line = plan_summary(plan).lines[0]
        assert line.collected == collected
        assert str(line.rate_percent) == percent
        assert line.status is Status.OVER


def test_drafts_and_returned_count_nowhere(app):
    district, (a, b, c) = f.district_with_communes(["A", "B", "C"])
    plan = f.plan(district)
    plans.set_quotas(plan, {a: 10, b: 10, c: 10})
    drive = f.drive(plan)
    f.result(drive, a, 12, state="draft")
    f.result(drive, b, 12, state="returned")
    f.result(drive, c, 0, state="submitted")
    by_name = {line.unit.name: line for line in plan_summary(plan).lines}
    assert by_name["A"].status is Status.NOT_REPORTED
    assert by_name["B"].status is Status.NOT_REPORTED
    assert by_name["C"].status is Status.BELOW
    assert plan_summary(plan).totals.collected == 0


def test_approved_only(app):
    district, (a,) = f.district_with_communes(["A"])
    plan = f.plan(district)
    plans.set_quotas(plan, {a: 10})
    f.result(f.drive(plan, "Đợt 1"), a, 4, state="approved")
    f.result(f.drive(plan, "Đợt 2"), a, 7, state="submitted")
    assert plan_summary(plan).totals.collected == 11
    assert plan_summary(plan, approved_only=True).totals.collected == 4


def test_province_plan_counts_district_plan_drives_and_units_below(app):
    district, (binh, ngoc) = f.district_with_communes(["Quảng Bình", "Quảng Ngọc"])
    union = f.unit("CĐCS Trường Tiểu học Quảng Bình", "union", binh)
    province_plan = f.plan(district.parent, number="276/KH-BCĐTH")
    plans.set_quotas(province_plan, {district: 50})
    district_plan = f.plan(district, parent=province_plan)
    plans.set_quotas(district_plan, {binh: 20, ngoc: 20})
    drive = f.drive(district_plan)
    f.result(drive, binh, 18)
    f.result(drive, union, 5)
    f.result(drive, ngoc, 21, state="approved")
    f.result(f.drive(province_plan), district, 3)  # the district's own staff at a provincial drive

    province = plan_summary(province_plan)
    assert [(line.unit.name, line.collected) for line in province.lines] == [
        ("Huyện Quảng Xương", 47)
    ]
    assert province.lines[0].status is Status.BELOW

    lines = {line.unit.name: line for line in plan_summary(district_plan).lines}
    assert lines["Quảng Bình"].collected == 23
    assert lines["Quảng Bình"].tally.registered == 23
    assert lines["Quảng Ngọc"].status is Status.OVER
    # The provincial drive belongs to the plan above, so it does not count here.
    assert plan_summary(district_plan).totals.collected == 44


def test_units_outside_every_quota_holder_are_shown_apart(app):
    district, (a, b) = f.district_with_communes(["A", "B"])
    plan = f.plan(district)
    plans.set_quotas(plan, {a: 10, b: 0})
    drive = f.drive(plan)
    f.result(drive, a, 10)
    f.result(drive, b, 6)
    summary = plan_summary(plan)
    assert summary.totals.collected == 10
    assert summary.collected_outside == 6
    assert [o.unit.name for o in summary.outside] == ["B"]


def _district_of(size: int):
    district, communes = f.district_with_communes([f"Xã {i}" for i in range(size)])
    plan = f.plan(district, rule="ml250")
    plans.set_quotas(plan, {c: 10 for c in communes})
    for d in range(2):
        drive = f.drive(plan, f"Đợt {d}")
        for c in communes[::2]:
            f.result(drive, c, 3, 2, 1)
    f.commit()
    return plan


@pytest.mark.parametrize("size", [3, 40])
def test_query_count_does_not_grow_with_units(app, count_queries, size):
    plan = _district_of(size)
    db.session.refresh(plan)  # the plan itself is loaded by whoever asks
    with count_queries:
        summary = plan_summary(plan)
    assert len(summary.lines) == size
    assert summary.lines[0].collected == Fraction(2 * (750 + 700 + 450), 250)
    assert count_queries.count == 3, count_queries.statements
