"""The plan rolled up by the database (the skeleton of its quota holders) against the
plan rolled up in Python over its whole tree: random trees, quotas, results, closed units
and moves, on the engine the suite runs on. Every figure, line and month must agree."""

from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import select

from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Plan, Quota, Result, UnitMove
from campaign.services import summary
from tests import factories as f

ISSUED_ON = date(2025, 3, 1)
KINDS = ("district", "commune", "union", "school", "agency")
STATES = ("submitted", "approved", "approved", "draft", "returned")


def random_plan(rng: random.Random, *, awkward: bool) -> Plan:
    """A province with a few levels of units under it; quotas on some (0 included, holders
    under holders); results from many. ``awkward`` adds what the skeleton cannot read: units
    closed before the plan's date with results or quotas, results from outside the
    issuer's tree, and moves since the plan's date."""
    root = f.unit("Tỉnh Thử", "province")
    outside = f.unit("Tỉnh Bên Cạnh", "province")
    units: list[OrgUnit] = [root]
    for _ in range(rng.randint(15, 45)):
        parent = rng.choice([u for u in units if u.valid_from is None])
        unit = OrgUnit(
            code=f"R{len(units):03d}-{rng.randrange(10**6)}",
            name=f"{rng.choice(['Xã', 'Phường', 'CĐCS', 'Trường'])} {rng.randrange(1000)}",
            kind=rng.choice(KINDS),
            parent_id=parent.id,
        )
        if rng.random() < 0.1:  # made after the plan: not in its tree, holds nothing
            unit.valid_from = date(2025, 7, 1)
        db.session.add(unit)
        db.session.flush()
        units.append(unit)
    closed = [u for u in units[1:] if u.valid_from is None and rng.random() < 0.08]
    closed = closed if awkward else []
    for unit in closed:
        unit.valid_to = date(2024, 12, 31)
    later = {u.id for u in units if u.valid_from is not None}
    plan = f.plan(root, issued_on=ISSUED_ON, year=2025)
    eligible = [u for u in units if u.id not in later]
    for unit in rng.sample(eligible, k=rng.randint(0, min(12, len(eligible)))):
        amount = rng.choice([0, 0, 5, 10, 20, 40])
        headcount = rng.choice([None, None, 30, 120])
        db.session.add(Quota(plan_id=plan.id, unit_id=unit.id, amount=amount, headcount=headcount))
    drives = [f.drive(plan, f"Đợt {n}", date(2025, rng.randint(1, 12), 10)) for n in (1, 2)]
    if rng.random() < 0.3:  # a drive ending the next year counts in December
        drives.append(f.drive(plan, "Đợt cuối", date(2026, 1, 5)))
    reporters = [u for u in units if u.id not in later]
    if awkward:
        reporters.append(outside)
    for drive in drives:
        for unit in rng.sample(reporters, k=rng.randint(0, len(reporters))):
            add_result(rng, drive, unit)
    if awkward and rng.random() < 0.5:
        moved = rng.choice(units[1:])
        target = rng.choice([u for u in units if u.id != moved.id])
        if not _is_below(units, target, moved):
            db.session.add(
                UnitMove(
                    unit_id=moved.id,
                    from_parent_id=moved.parent_id,
                    to_parent_id=target.id,
                    moved_on=date(2025, 9, 1),
                )
            )
            moved.parent_id = target.id
    db.session.commit()
    return plan


def add_result(rng: random.Random, drive: Drive, unit: OrgUnit) -> None:
    bags = [rng.randint(0, 12) for _ in range(3)]
    deferred = rng.randint(0, 3)
    db.session.add(
        Result(
            drive_id=drive.id,
            unit_id=unit.id,
            registered=sum(bags) + deferred,
            deferred=deferred,
            bags_250=bags[0],
            bags_350=bags[1],
            bags_450=bags[2],
            repeat_donors=rng.choice([None, min(2, sum(bags))]),
            state=rng.choice(STATES),
        )
    )


def _is_below(units: list[OrgUnit], unit: OrgUnit, ancestor: OrgUnit) -> bool:
    parents = {u.id: u.parent_id for u in units}
    current: int | None = unit.id
    while current is not None:
        if current == ancestor.id:
            return True
        current = parents.get(current)
    return False


def both_ways(plan: Plan, approved_only: bool):
    skeleton = summary.read_plan_and_months(plan, approved_only, whole_tree=False)
    whole = summary.read_plan_and_months(plan, approved_only, whole_tree=True)
    return skeleton, whole


@pytest.mark.parametrize("awkward", [False, True], ids=["plain", "awkward"])
@pytest.mark.parametrize("seed", range(10))
def test_the_skeleton_gives_the_figures_of_the_whole_tree(
    app, monkeypatch, seed: int, awkward: bool
):
    rng = random.Random(seed * 2 + awkward)
    plan = random_plan(rng, awkward=awkward)
    if not awkward:  # else the test could pass by never reading the skeleton at all
        assert (
            summary._condensed(plan, summary.plan_quotas_and_headcounts(plan.id), False, True)
            is not None
        )
    for approved_only in (False, True):
        (made, units, monthly), (expected, whole, whole_monthly) = both_ways(plan, approved_only)
        assert made == expected
        today = date(2025, 11, 20)
        progress = summary.plan_progress(plan, expected, whole, today, None, whole_monthly)
        assert summary.plan_progress(plan, made, units, today, None, monthly) == progress
        # The whole tree read for the whole plan's progress: its months by holder and by
        # unit counted apart, not unit by unit.
        with monkeypatch.context() as patched:
            patched.setattr(summary, "_worth_a_skeleton", lambda entries: False)
            again, tree, by_holder = summary.read_plan_and_months(plan, approved_only)
        assert again == expected
        assert summary.plan_progress(plan, again, tree, today, None, by_holder) == progress
        # Once the year is over, the months add up to what the summary counts.
        _quota, year = summary.plan_progress(plan, again, tree, date(2026, 1, 5), None, by_holder)
        assert year[-1].cumulative == expected.totals.collected
        # The dashboard names a line's group by its parent: the skeleton has every parent.
        nodes, every = {n.id: n for n in units}, {n.id: n for n in whole}
        for line in made.lines:
            parent = line.unit.parent_id
            assert parent is None or parent not in every or nodes[parent] == every[parent]


@pytest.mark.parametrize("awkward", [False, True], ids=["plain", "awkward"])
@pytest.mark.parametrize("seed", range(6))
def test_the_skeleton_compares_with_an_earlier_plan_as_the_whole_tree(
    app, seed: int, awkward: bool
):
    """The same tree read by two plans a year apart, some units merged into others since
    the first one: each line's previous figure and the compared totals agree."""
    rng = random.Random(100 + seed * 2 + awkward)
    earlier = random_plan(rng, awkward=awkward)
    units = db.session.scalars(select(OrgUnit).order_by(OrgUnit.id)).all()
    later = f.plan(earlier.issuer, issued_on=date(2026, 2, 1), year=2026)
    later.compare_with_id = earlier.id
    mergeable = [u for u in units if u.parent_id is not None and u.valid_to is None]
    for old in rng.sample(mergeable, k=min(4, len(mergeable))):
        into = rng.choice([u for u in mergeable if u.id != old.id])
        if into.merged_into_id is None:
            old.merged_into_id, old.valid_to = into.id, date(2025, 12, 31)
    for unit in rng.sample(mergeable, k=min(10, len(mergeable))):
        if unit.merged_into_id is None:
            db.session.add(Quota(plan_id=later.id, unit_id=unit.id, amount=rng.choice([0, 8])))
    f.drive(later, day=date(2026, 4, 1))
    db.session.commit()
    if not awkward:
        assert summary._skeleton(earlier, select(Quota.unit_id, Quota.amount), False, False, False)
    for approved_only in (False, True):
        made = summary.plan_summary(later, approved_only)
        every = summary.comparison(later, made, approved_only, whole_tree=True)
        assert summary.comparison(later, made, approved_only, whole_tree=False) == every
        # A page of the lines compared alone: the same figures for its lines, the same totals.
        ids = [line.unit.id for line in made.lines]
        among = rng.sample(ids, k=rng.randint(0, len(ids)))
        for whole_tree in (False, True):
            some = summary.comparison(later, made, approved_only, whole_tree, among=among)
            assert (some.total, some.total_now) == (every.total, every.total_now)
            assert [some.of(uid) for uid in among] == [every.of(uid) for uid in among]
            left_out = set(ids) - set(among)
            for uid in left_out:
                with pytest.raises(KeyError):
                    some.of(uid)


def test_a_plan_read_before_a_move_is_read_over_the_whole_tree(app):
    """A unit moved since the plan's date counts where it was then: the skeleton, which
    follows today's parents, stands aside."""
    province = f.unit("Tỉnh Thử", "province")
    old, new = f.unit("Huyện Cũ", "district", province), f.unit("Xã Mới", "commune", province)
    commune = f.unit("Xã Quảng Bình", "commune", old)
    plan = f.plan(province, issued_on=ISSUED_ON, year=2025)
    db.session.add(Quota(plan_id=plan.id, unit_id=old.id, amount=10))
    f.result(f.drive(plan, day=date(2025, 5, 1)), commune, 12)
    db.session.add(
        UnitMove(unit_id=commune.id, from_parent_id=old.id, to_parent_id=new.id,
                 moved_on=date(2025, 7, 1))
    )  # fmt: skip
    commune.parent_id = new.id
    db.session.commit()
    assert (
        summary._condensed(plan, summary.plan_quotas_and_headcounts(plan.id), False, False) is None
    )
    (line,) = summary.plan_summary(plan).lines
    assert (line.unit.id, line.collected) == (old.id, 12)
