"""The summary service against a real database: the figures, and a fixed query count."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from campaign.extensions import db
from campaign.rates import Status
from campaign.services import plans
from campaign.services.summary import forget_kept_figures, plan_summary, read_plan
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
    forget_kept_figures()  # nothing kept by an earlier test of this process
    with count_queries:
        summary = plan_summary(plan)
    assert len(summary.lines) == size
    assert summary.lines[0].collected == Fraction(2 * (750 + 700 + 450), 250)
    # Every unit holds a quota, so the whole tree is read: the figures' stamp, quotas, the
    # count of units (which way to read), the unit tree's stamp, moves since the plan's
    # date, the drives of the plan tree, their counted results, whether the issuer tops
    # every unit (a district does not), its subtree walked, and the figures' stamp again:
    # no step was taken while they were made, so they can be brought up to date later.
    assert count_queries.count == 10, "\n\n".join(count_queries.statements)
    # Read again, nothing has changed: the summary is the one kept, after one query.
    count_queries.statements.clear()
    with count_queries:
        assert plan_summary(plan) is summary
    assert count_queries.count == 1, count_queries.statements
    # Made anew, the unit tree is the one kept: its stamp has not changed.
    forget_kept_figures()
    count_queries.statements.clear()
    with count_queries:
        assert plan_summary(plan) == summary
    assert count_queries.count == 7, "\n\n".join(count_queries.statements)


@pytest.mark.parametrize("size", [3, 40])
def test_query_count_of_a_skeleton_does_not_grow_with_units(app, count_queries, size):
    """Quotas to the district only, its communes reporting: the database rolls them up."""
    plan = _district_of(size)
    plans.set_quotas(plan, {line.unit.id: None for line in plan_summary(plan).lines})
    plans.set_quotas(plan, {plan.issuer_id: 100})
    f.commit()
    db.session.refresh(plan)
    with count_queries:
        summary = plan_summary(plan)
    (line,) = summary.lines
    assert line.tally.reports == 2 * len(range(0, size, 2))
    # The figures' stamp, the steps since the summary read before the quotas were set
    # (read over the whole tree: its summary is tried again from its tallies, but with one
    # entry left the skeleton is quicker to read, so its quotas and the count of units are
    # read in vain), the drives of the plan tree, quotas, the count of units, moves since
    # the plan's date, one walk of the tree giving the quota entries and their results,
    # and the stamp again.
    assert count_queries.count == 10, "\n\n".join(count_queries.statements)


def _moved_province():
    """Province T with districts A and B; commune C (with a union U under it) in A, and a
    province plan of 2021 over a district plan of A that gave C its quota."""
    from datetime import date

    province = f.unit("Tỉnh T", "province")
    a, b = f.unit("Huyện A", "district", province), f.unit("Huyện B", "district", province)
    c = f.unit("Xã C", "commune", a)
    u = f.unit("CĐCS U", "union", c)
    p2021 = f.plan(province, issued_on=date(2020, 12, 20), year=2021)
    plans.set_quotas(p2021, {a: 20, b: 20})
    a2021 = f.plan(a, issued_on=date(2020, 12, 28), year=2021, parent=p2021)
    plans.set_quotas(a2021, {c: 10})
    drive = f.drive(a2021)
    f.result(drive, c, 5)
    f.result(drive, u, 3)
    return province, a, b, c, u, p2021, a2021


def _collected(plan) -> dict[str, Fraction]:
    return {line.unit.name: line.collected for line in plan_summary(plan).lines}


def test_moving_a_unit_leaves_the_plans_issued_before_unchanged(app):
    from datetime import date

    from campaign.services import units

    province, a, b, c, u, p2021, a2021 = _moved_province()
    before = (_collected(p2021), _collected(a2021))
    assert before == ({"Huyện A": 8, "Huyện B": 0}, {"Xã C": 8})

    units.update_unit(c, code=c.code, name=c.name, kind=c.kind, parent=b, moved_on=date(2022, 1, 1))
    p2022 = f.plan(province, issued_on=date(2022, 3, 1), year=2022)
    plans.set_quotas(p2022, {a: 20, b: 20})
    f.result(f.drive(p2022), c, 2)
    f.commit()

    # 2021 is read as it stood: C (and U below it) under A; 2022 has C under B.
    assert (_collected(p2021), _collected(a2021)) == before
    assert _collected(p2022) == {"Huyện A": 0, "Huyện B": 2}
    depth = {line.unit.name: line.depth for line in plan_summary(a2021).lines}
    assert depth == {"Xã C": 1}

    # Moved back a year later: each plan still reads its own day.
    units.update_unit(c, code=c.code, name=c.name, kind=c.kind, parent=a, moved_on=date(2023, 1, 1))
    p2023 = f.plan(province, issued_on=date(2023, 2, 1), year=2023)
    plans.set_quotas(p2023, {a: 20, b: 20})
    f.result(f.drive(p2023), u, 4)
    assert (_collected(p2021), _collected(a2021)) == before
    assert _collected(p2022) == {"Huyện A": 0, "Huyện B": 2}
    assert _collected(p2023) == {"Huyện A": 4, "Huyện B": 0}


def test_a_move_cannot_be_dated_before_the_units_latest_move(app):
    from datetime import date

    from campaign.services import units
    from campaign.services.errors import ServiceError

    _province, a, b, c, *_ = _moved_province()
    units.update_unit(c, code=c.code, name=c.name, kind=c.kind, parent=b, moved_on=date(2022, 1, 1))
    with pytest.raises(ServiceError, match="01/01/2022"):
        units.update_unit(
            c, code=c.code, name=c.name, kind=c.kind, parent=a, moved_on=date(2021, 6, 1)
        )


def test_a_plan_tree_holds_the_units_of_its_date_and_whatever_counts_in_it(app):
    """Units made after the plan's date, or closed before it, are not in its tree, unless
    they hold a quota or reported in it: then they count where they hang."""
    from datetime import date

    from campaign.services.summary import read_plan

    district, (binh,) = f.district_with_communes(["Quảng Bình"])
    closed = f.unit("Xã Cũ", "commune", district, valid_to=date(2020, 12, 31))
    later = f.unit("Xã Mới", "commune", district, valid_from=date(2022, 1, 1))
    unused = f.unit("Xã Mới Khác", "commune", district, valid_from=date(2022, 1, 1))
    school = f.unit("Trường Mới", "school", unused)  # no dates, but under a unit of 2022
    reporter = f.unit("Trường Mới Báo Cáo", "school", later, valid_from=date(2022, 1, 1))
    plan = f.plan(district)  # issued 10/05/2021
    plans.set_quotas(plan, {binh: 10})
    f.result(f.drive(plan), reporter, 3)
    summary, nodes = read_plan(plan)
    ids = {node.id for node in nodes}
    assert {district.id, binh.id, later.id, reporter.id} <= ids
    assert not {closed.id, unused.id, school.id} & ids
    assert summary.collected_outside == 3  # the report counts, under the unit it hangs on


def test_the_tree_read_is_the_issuers_subtree_whether_or_not_it_tops_every_unit(app):
    """A province alone in the database is read as stored; beside another province, its
    subtree is walked. Either way the tree holds exactly its units valid on the plan's date."""
    province = f.unit("Tỉnh A", kind="province")
    district = f.unit("Huyện A", kind="district", parent=province)
    commune = f.unit("Xã A", parent=district)
    f.unit("Xã mới", parent=district, valid_from=date(2030, 1, 1))
    plan = f.plan(province)
    plans.set_quotas(plan, {district: 10, commune: 4})
    f.result(f.drive(plan), commune, 5)
    f.commit()
    ours = {province.id, district.id, commune.id}

    def read() -> tuple[set[int], list[tuple[str, object]]]:
        summary, units = read_plan(plan, whole_tree=True)
        return {u.id for u in units}, [(line.unit.name, line.collected) for line in summary.lines]

    alone = read()
    assert alone == (ours, [("Huyện A", 5), ("Xã A", 5)])
    other = f.unit("Tỉnh B", kind="province")
    f.unit("Xã B", parent=other)
    f.commit()
    assert read() == alone
