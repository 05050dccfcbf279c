"""A plan's summary, read from the database in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, case, func, or_, select

from campaign.extensions import db
from campaign.models import (
    COUNTED_STATES,
    Drive,
    OrgUnit,
    Plan,
    Quota,
    Result,
    ResultState,
    UnitMove,
)
from campaign.rates import (
    NO_COMPARISON,
    NO_TARGETS,
    Bags,
    Comparison,
    FlatTallies,
    MonthPoint,
    PlanSummary,
    Shares,
    Tally,
    Target,
    Targets,
    UnitNode,
    add_flat,
    change,
    compare,
    display_change,
    display_units,
    progress,
    result_tally,
    summarize,
)
from campaign.services.scope import tree_ids
from campaign.text import sort_key


def _rows(query: Select[Any]) -> Sequence[Row[Any]]:
    """Plain rows through the session's connection: the summary reads tens of thousands
    of them, and skipping the ORM's result handling saves a sixth of its time."""
    return db.session.connection().execute(query).all()


def _plain_rows(query: Select[Any]) -> list[tuple[Any, ...]]:
    """The database driver's own tuples, for queries of integers, booleans and text only:
    no column needs SQLAlchemy's conversion (dates would, on SQLite). A national plan reads
    a hundred thousand rows, and making a ``Row`` of each costs a third of reading them."""
    result = db.session.connection().execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def plan_and_descendants(plan_id: int) -> Select[tuple[int]]:
    """Ids of the plan and of every plan below it (district plans under a province plan)."""
    return tree_ids(Plan, Plan.id == plan_id, "plan_tree")


def unit_and_descendants(unit_id: int) -> Select[tuple[int]]:
    return tree_ids(OrgUnit, OrgUnit.id == unit_id, "unit_tree")


def counted_tallies(plan_id: int, approved_only: bool = False) -> FlatTallies:
    """Per unit, the counted results it reported itself in the drives of the plan tree."""
    query = _counted(plan_id, approved_only, Result.unit_id)
    return FlatTallies({row[0]: row[1:] for row in _plain_rows(query)})


def _counted(plan_id: int, approved_only: bool, *keys: Any) -> Select[Any]:
    """The counted results of the plan tree's drives added up by ``keys``: count,
    registered, deferred, the three bag sizes, repeat donors and their base.

    The drives are read first (one small query): named by id, PostgreSQL reads a
    district's results through their index, where from the recursive query it cannot
    estimate it scanned them all (17 ms instead of 1 for a district in a province)."""
    states = (ResultState.APPROVED.value,) if approved_only else COUNTED_STATES
    drives = select(Drive.id).where(Drive.plan_id.in_(plan_and_descendants(plan_id)))
    drive_ids = [drive_id for (drive_id,) in _plain_rows(drives)]
    return (
        select(
            *keys,
            func.count(),
            func.sum(Result.registered),
            func.sum(Result.deferred),
            func.sum(Result.bags_250),
            func.sum(Result.bags_350),
            func.sum(Result.bags_450),
            func.coalesce(func.sum(Result.repeat_donors), 0),
            func.sum(_REPEAT_BASE),
        )
        .join(Drive, Drive.id == Result.drive_id)
        .where(Result.drive_id.in_(drive_ids), Result.state.in_(states))
        .group_by(*keys)
    )


#: A result's donations when it counted its repeat donors, else 0 (see rates.result_tally).
_REPEAT_BASE = case(
    (Result.repeat_donors.is_not(None), Result.bags_250 + Result.bags_350 + Result.bags_450),
    else_=0,
)


def plan_quotas(plan_id: int) -> dict[int, int]:
    query = select(Quota.unit_id, Quota.amount).where(Quota.plan_id == plan_id)
    return {unit_id: amount for unit_id, amount in _rows(query)}


def plan_quotas_and_headcounts(plan_id: int) -> tuple[dict[int, int], dict[int, int]]:
    """Quotas by unit id, and the headcounts the plan records, in one query."""
    query = select(Quota.unit_id, Quota.amount, Quota.headcount).where(Quota.plan_id == plan_id)
    quotas, headcounts = {}, {}
    for unit_id, amount, headcount in _plain_rows(query):
        quotas[unit_id] = amount
        if headcount is not None:
            headcounts[unit_id] = headcount
    return quotas, headcounts


def plan_units(plan: Plan, needed: set[int]) -> list[UnitNode]:
    """The issuer's subtree as it stood on the plan's date, plus any ``needed`` unit outside
    it (a quota or a result given outside the issuer's tree: rare, and then one more query).

    A unit moved since that day counts under its parent of then, with everything under it:
    a move never changes the figures of a plan issued before it. A unit not valid on that
    day (made later, or closed before) is left out with everything under it, unless it or a
    unit under it is ``needed``: the tree of a 2021 plan has none of the communes of 2025,
    and no figure changes, as what is left out holds no quota and counted nothing."""
    earlier = parents_before_moves(plan.issued_on)
    columns = (OrgUnit.id, OrgUnit.parent_id, OrgUnit.code, OrgUnit.name, OrgUnit.kind)
    valid = or_(OrgUnit.valid_from.is_(None), OrgUnit.valid_from <= plan.issued_on) & or_(
        OrgUnit.valid_to.is_(None), OrgUnit.valid_to >= plan.issued_on
    )
    # The recursive query carries the columns itself: no second pass over org_unit. With
    # moves since the plan's date it also starts from each moved unit, so that a unit
    # moved out of the issuer's tree is found with its subtree.
    start = OrgUnit.id == plan.issuer_id
    if earlier:  # a subquery, not a list: a reorganisation moves thousands of units
        start = or_(start, OrgUnit.id.in_(moved_since(plan.issued_on)))
    carried = (*columns, valid.label("valid"))
    tree = select(*carried).where(start).cte("plan_units", recursive=True)
    tree = tree.union_all(select(*carried).where(OrgUnit.parent_id == tree.c.id))
    rows = _plain_rows(select(tree))
    found = {row[0]: UnitNode(*row[:5]) for row in rows}
    invalid = {row[0] for row in rows if not row[5]}
    if earlier:
        found = _as_of(found, earlier, plan.issuer_id)
    if invalid - {plan.issuer_id}:
        found = _valid_only(found, invalid - {plan.issuer_id}, needed)
    missing = needed - found.keys()
    if missing:
        outside = select(*columns).where(OrgUnit.id.in_(missing))
        for row in _rows(outside):
            node = UnitNode(*row)
            found[node.id] = node._replace(parent_id=earlier.get(node.id, node.parent_id))
    nodes = list(found.values())
    nodes.sort(key=lambda n: sort_key(n.name))
    return nodes


def _valid_only(
    found: dict[int, UnitNode], invalid: set[int], needed: set[int]
) -> dict[int, UnitNode]:
    """``found`` without the subtrees of the units not valid on the plan's date, but with
    every ``needed`` unit and its ancestors."""
    kept: set[int] = set()
    for start in needed:
        uid: int | None = start
        while uid is not None and uid in found and uid not in kept:
            kept.add(uid)
            uid = found[uid].parent_id
    children: dict[int | None, list[int]] = {}
    for node in found.values():
        children.setdefault(node.parent_id, []).append(node.id)
    dropped: set[int] = set()
    stack = [uid for uid in invalid if uid in found and uid not in kept]
    while stack:
        uid = stack.pop()
        dropped.add(uid)
        stack.extend(child for child in children.get(uid, ()) if child not in kept)
    return {uid: node for uid, node in found.items() if uid not in dropped}


def moved_since(day: date) -> Select[tuple[int]]:
    return select(UnitMove.unit_id).where(UnitMove.moved_on > day)


def parents_before_moves(day: date) -> dict[int, int | None]:
    """Unit id -> its parent on ``day``, for the units moved since (the first move after
    ``day`` tells where the unit was). One query; usually it finds nothing."""
    moves = _rows(
        select(UnitMove.unit_id, UnitMove.from_parent_id)
        .where(UnitMove.moved_on > day)
        .order_by(UnitMove.moved_on.desc(), UnitMove.id.desc())
    )
    return {unit_id: parent_id for unit_id, parent_id in moves}  # the earliest move wins


def _as_of(
    found: dict[int, UnitNode], earlier: dict[int, int | None], issuer_id: int
) -> dict[int, UnitNode]:
    """Of the units found, those under the issuer with the parents of the plan's date."""
    children: dict[int | None, list[UnitNode]] = {}
    for node in found.values():
        node = node._replace(parent_id=earlier.get(node.id, node.parent_id))
        children.setdefault(node.parent_id, []).append(node)
    # The issuer is the top of the plan's tree, wherever it hangs now or hung then.
    kept = {issuer_id: found[issuer_id]._replace(parent_id=None)}
    stack = [issuer_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child.id not in kept:
                kept[child.id] = child
                stack.append(child.id)
    return kept


def read_plan(plan: Plan, approved_only: bool = False) -> tuple[PlanSummary, list[UnitNode]]:
    """The summary and the unit tree it was made from (pages name groups by parent)."""
    return _summarized(plan, counted_tallies(plan.id, approved_only))


def read_plan_and_months(
    plan: Plan, approved_only: bool = False
) -> tuple[PlanSummary, list[UnitNode], Monthly]:
    """:func:`read_plan`, and its results month by month, in as many queries."""
    tallies, monthly = counted_by_month(plan, approved_only)
    return (*_summarized(plan, tallies), monthly)


def _summarized(plan: Plan, tallies: Mapping[int, Tally]) -> tuple[PlanSummary, list[UnitNode]]:
    quotas, headcounts = plan_quotas_and_headcounts(plan.id)
    units = plan_units(plan, set(quotas) | set(tallies))
    return summarize(units, quotas, tallies, plan.rule, headcounts), units


def comparison(plan: Plan, summary: PlanSummary, approved_only: bool = False) -> Comparison:
    """``summary`` (of ``plan``) beside the plan it is compared with: that plan's counted
    results, its tree as of its date and the mergers since, in five more queries.

    ``approved_only`` reads the earlier plan the same way as ``summary``."""
    before = plan.compare_with
    if before is None:
        return NO_COMPARISON
    tallies = counted_tallies(before.id, approved_only)
    units = plan_units(before, set(tallies))
    merged = select(OrgUnit.id, OrgUnit.merged_into_id).where(OrgUnit.merged_into_id.is_not(None))
    merged_into = {old: new for old, new in _rows(merged)}
    return compare(summary, units, tallies, before.rule, merged_into)


def plan_summary(plan: Plan, approved_only: bool = False) -> PlanSummary:
    """Five queries whatever the size of the plan; the rules are in ``rates``."""
    return read_plan(plan, approved_only)[0]


def figures(
    made: PlanSummary, targets: Targets = NO_TARGETS, compared: Comparison = NO_COMPARISON
) -> dict[str, Any]:
    """The summary's totals and lines as the API writes them (``SummarySchema``): plain
    numbers, rounded for display by ``rates``, so every JSON answer shows the same; each
    share judged against the plan's ``targets``, each collected figure beside the
    ``compared`` plan's."""
    totals = made.totals
    return {
        "totals": {
            "quota": totals.quota,
            "collected": display_units(totals.collected),
            "rate_percent": totals.rate_percent,
            "holders": totals.holders,
            "completed": totals.completed,
            "completed_percent": totals.completed_percent,
            "over": totals.over,
            "not_reported": totals.not_reported,
            "collected_outside": display_units(made.collected_outside),
            "previous_collected": _units_or_none(compared.total),
            **_target_figures(totals.shares, targets),
        },
        "units": [
            {
                "code": line.unit.code,
                "name": line.unit.name,
                "kind": line.unit.kind,
                "quota": line.quota,
                "registered": line.tally.registered,
                "donors": line.tally.donors,
                "deferred": line.tally.deferred,
                "collected": display_units(line.collected),
                "rate_percent": line.rate_percent,
                "status": line.status.value,
                "over_amount": display_units(line.over_amount),
                "headcount": line.headcount,
                **_target_figures(line.shares, targets),
                **_compared_figures(line.collected, compared.of(line.unit.id)),
            }
            for line in made.lines
        ],
    }


def _units_or_none(units: Fraction | None) -> Decimal | None:
    return None if units is None else display_units(units)


def _compared_figures(collected: Fraction, previous: Fraction | None) -> dict[str, Any]:
    return {
        "previous_collected": _units_or_none(previous),
        "change_percent": display_change(change(collected, previous)),
    }


def _target_figures(shares: Shares, targets: Targets) -> dict[str, Any]:
    percents = shares.percents(targets)
    return {
        "large_bag_percent": percents[Target.LARGE_BAG],
        "repeat_percent": percents[Target.REPEAT],
        "participation_percent": percents[Target.PARTICIPATION],
        "targets_missed": [target.value for target in shares.missed(targets)],
    }


class DriveRef(NamedTuple):
    id: int
    name: str
    starts_on: date


def drive_tallies(plan: Plan) -> list[tuple[DriveRef, UnitNode, Tally]]:
    """Counted results by drive and unit across the plan tree, in one query.

    A unit has at most one result per drive, so each row is one drive x unit cell. Plain
    rows, not ORM objects: a province's plan has tens of thousands of them.
    """
    query = (
        select(
            Drive.id,
            Drive.name,
            Drive.starts_on,
            OrgUnit.id,
            OrgUnit.parent_id,
            OrgUnit.code,
            OrgUnit.name,
            OrgUnit.kind,
            Result.registered,
            Result.deferred,
            Result.bags_250,
            Result.bags_350,
            Result.bags_450,
            Result.repeat_donors,
        )
        .join(Drive, Drive.id == Result.drive_id)
        .join(OrgUnit, OrgUnit.id == Result.unit_id)
        .where(Drive.plan_id.in_(plan_and_descendants(plan.id)), Result.state.in_(COUNTED_STATES))
    )
    rows = [
        (
            DriveRef(drive_id, drive_name, starts_on),
            UnitNode(uid, parent, code, name, kind),
            result_tally(reg, dfr, Bags(b1, b2, b3), repeat),
        )
        for drive_id, drive_name, starts_on, uid, parent, code, name, kind, reg, dfr, b1, b2, b3,
        repeat in _rows(query)
    ]  # fmt: skip
    rows.sort(key=lambda r: (r[0].starts_on, r[0].id, sort_key(r[1].name)))
    return rows


#: Month of a plan's year (1-12) -> unit id -> the bags of the unit's own counted results in
#: the drives ending that month.
Monthly = dict[int, dict[int, Bags]]


def counted_by_month(plan: Plan, approved_only: bool = False) -> tuple[FlatTallies, Monthly]:
    """:func:`counted_tallies` and the same results month by month, from one query grouped
    by unit and drive end day (a dashboard shows both).

    A drive ending outside the plan's year counts in its first or last month, so the
    year's last month always holds everything the plan counts."""
    query = _counted(plan.id, approved_only, Result.unit_id, Drive.ends_on)
    flats: dict[int, tuple[int, ...]] = {}
    monthly: Monthly = {}
    for row in _rows(query):
        unit_id, day, flat = row[0], row[1], tuple(row[2:])
        flats[unit_id] = add_flat(flats[unit_id], flat) if unit_id in flats else flat
        month = 1 if day.year < plan.year else 12 if day.year > plan.year else day.month
        by_unit = monthly.setdefault(month, {})
        bags = Bags(flat[3], flat[4], flat[5])
        by_unit[unit_id] = by_unit[unit_id] + bags if unit_id in by_unit else bags
    return FlatTallies(flats), monthly


def months_elapsed(year: int, today: date) -> int:
    """How many months of ``year`` have begun by ``today``: 12 for a past year, 0 for one
    to come."""
    if year < today.year:
        return 12
    return today.month if year == today.year else 0


def plan_progress(
    plan: Plan,
    summary: PlanSummary,
    units: list[UnitNode],
    today: date,
    unit_id: int | None,
    monthly: Monthly,
) -> tuple[int, list[MonthPoint]]:
    """The plan's (or one unit's) quota and its months so far, from the summary's tree and
    the months :func:`read_plan_and_months` read with it."""
    quotas = {line.unit.id: line.quota for line in summary.lines if line.quota is not None}
    if unit_id is None:
        quota = summary.totals.quota
    else:
        quota = next((line.quota or 0 for line in summary.lines if line.unit.id == unit_id), 0)
    points = progress(
        units,
        quotas,
        monthly,
        summary.rule,
        quota,
        months_elapsed(plan.year, today),
        within=unit_id,
    )
    return quota, points
