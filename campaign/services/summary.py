"""A plan's summary, read from the database in a fixed number of queries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager, nullcontext
from copy import copy
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from flask import Flask, current_app
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Row,
    Select,
    any_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from campaign.extensions import db
from campaign.memory import bulk_reading
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
    EMPTY,
    NO_COMPARISON,
    NO_TARGETS,
    Bags,
    Comparison,
    Earlier,
    Flat,
    FlatTallies,
    Line,
    MonthPoint,
    PlanSummary,
    Shares,
    Tally,
    Target,
    Targets,
    UnitNode,
    UnitTree,
    add_flat,
    brought_up,
    change,
    compare,
    display_change,
    display_units,
    has_quota,
    progress,
    requoted,
    result_flat,
    result_tally,
    roll_up,
    subtree,
    summarize,
)
from campaign.services.kept import UNIT_ADDED, UNIT_RENAMED, UNIT_WRITES, Change, Kept
from campaign.services.scope import tree_ids
from campaign.text import sort_key

T = TypeVar("T")


def _rows(query: Select[Any] | CompoundSelect) -> Sequence[Row[Any]]:
    """Plain rows through the session's connection: the summary reads tens of thousands
    of them, and skipping the ORM's result handling saves a sixth of its time."""
    return db.session.connection().execute(query).all()


def _plain_rows(query: Select[Any] | CompoundSelect) -> list[tuple[Any, ...]]:
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
    return _tallies(_counted_results(plan_id, approved_only))


def _tallies(counted: tuple[ColumnElement[bool], ...]) -> FlatTallies:
    """Per unit, its ``counted`` results (see :func:`_counted_results`)."""
    query = _counted(counted, Result.unit_id)
    return FlatTallies({row[0]: row[1:] for row in _plain_rows(query)})


def _counted(
    counted: tuple[ColumnElement[bool], ...], *keys: Any, by_day: bool = False
) -> Select[Any]:
    """The counted results of the plan tree's drives added up by ``keys``: count,
    registered, deferred, the three bag sizes, repeat donors and their base. With
    ``by_day``, the drive's end day comes after the keys, and the results are grouped by
    it too.

    The drives are read first (one small query): named by id, PostgreSQL reads a
    district's results through their index, where from the recursive query it cannot
    estimate it scanned them all (17 ms instead of 1 for a district in a province). The
    drive table is joined only for its day: for a national plan, joined for nothing, it
    was a sixth of the query."""
    if by_day:
        keys = (*keys, Drive.ends_on)
    query = select(*keys, *_TALLY_SUMS).select_from(Result)
    if by_day:
        query = query.join(Drive, Drive.id == Result.drive_id)
    return query.where(*counted).group_by(*keys)


def _counted_results(
    plan_id: int, approved_only: bool, drives: Collection[int] | None = None
) -> tuple[ColumnElement[bool], ...]:
    """Results counted in the drives of the plan tree (the drives read by id first, unless
    given)."""
    if drives is None:
        drives = plan_drives(plan_id)
    return Result.drive_id.in_(list(drives)), Result.state.in_(_states(approved_only))


def plan_drives(plan_id: int) -> dict[int, date]:
    """The drives of the plan tree, each with the day it ends."""
    return plan_tree(plan_id)[1]


def plan_tree(plan_id: int) -> tuple[frozenset[int], dict[int, date]]:
    """The plans of the plan tree (the plan and those under it), and their drives, each
    with the day it ends: one query."""
    plans = plan_and_descendants(plan_id).subquery()
    query = select(plans.c.id, Drive.id, Drive.ends_on).outerjoin(
        Drive, Drive.plan_id == plans.c.id
    )
    rows = _rows(query)
    drives = {drive_id: ends_on for _plan, drive_id, ends_on in rows if drive_id is not None}
    return frozenset(row[0] for row in rows), drives


def _states(approved_only: bool) -> tuple[str, ...]:
    return (ResultState.APPROVED.value,) if approved_only else COUNTED_STATES


#: A result's donations when it counted its repeat donors, else 0 (see rates.result_tally).
_REPEAT_BASE = case(
    (Result.repeat_donors.is_not(None), Result.bags_250 + Result.bags_350 + Result.bags_450),
    else_=0,
)
#: Counted results added up, in the order of ``rates.Flat``.
_TALLY_SUMS = (
    func.count(),
    func.sum(Result.registered),
    func.sum(Result.deferred),
    func.sum(Result.bags_250),
    func.sum(Result.bags_350),
    func.sum(Result.bags_450),
    func.coalesce(func.sum(Result.repeat_donors), 0),
    func.sum(_REPEAT_BASE),
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


#: The columns of a :class:`UnitNode`, in its order.
_NODE_COLUMNS = (OrgUnit.id, OrgUnit.parent_id, OrgUnit.code, OrgUnit.name, OrgUnit.kind)


def plan_units(plan: Plan, needed: set[int], in_order: bool = True) -> Sequence[UnitNode]:
    """The issuer's subtree as it stood on the plan's date, plus any ``needed`` unit outside
    it (a quota or a result given outside the issuer's tree: rare, and then one more query).

    A unit moved since that day counts under its parent of then, with everything under it:
    a move never changes the figures of a plan issued before it. A unit not valid on that
    day (made later, or closed before) is left out with everything under it, unless it or a
    unit under it is ``needed``: the tree of a 2021 plan has none of the communes of 2025,
    and no figure changes, as what is left out holds no quota and counted nothing.

    The units come in tree order, siblings by name, unless ``in_order`` is False (a reader
    that shows no order saves sorting a national tree). The issuer's subtree is kept
    between requests until the unit tree changes (:mod:`campaign.services.kept`)."""
    tree = _KEPT.get((plan.issuer_id, plan.issued_on), lambda: _IssuerTree(plan))
    found = tree.found
    invalid = tree.invalid - {plan.issuer_id}
    if invalid:
        found = _valid_only(found, invalid, needed)
    missing = needed - found.keys()
    if missing:  # units outside the issuer's tree: a copy, the tree kept stays as it is
        found = dict(found)
        for row in _rows(select(*_NODE_COLUMNS).where(OrgUnit.id.in_(missing))):
            node = UnitNode(*row)
            found[node.id] = node._replace(parent_id=tree.earlier.get(node.id, node.parent_id))
        return _in_tree_order(found.values()) if in_order else list(found.values())
    if not in_order:
        return list(found.values())
    if len(found) == len(tree.found):
        return tree.ordered  # shared, and immutable: its shape is worked out once
    return [node for node in tree.ordered if node.id in found]


class _IssuerTree:
    """The issuer's subtree as it stood on the plan's date, every unit valid then or not,
    and which were not; its order by name is made once, when first asked for."""

    def __init__(self, plan: Plan) -> None:
        self.issuer_id = plan.issuer_id
        self._ordered: UnitTree | None = None
        self.earlier = earlier = parents_before_moves(plan.issued_on)
        # Where the issuer is the one unit without a parent (a province's own database, or
        # the nation's plan), its subtree is every unit: read as stored, not walked, in a
        # tenth of the time, and once for the plans of every date (:class:`_EveryUnit`).
        self._every = every = _every_unit_under(plan.issuer_id)
        if every is not None:
            found = every.nodes
            self.invalid = every.invalid_on(plan.issued_on)
        else:
            found, self.invalid = _issuer_subtree(plan, bool(earlier))
        self.found: dict[int, UnitNode] = (
            _as_of(found, earlier, plan.issuer_id) if earlier else found
        )

    @property
    def ordered(self) -> UnitTree:
        """The units in tree order, with their shape, made when first asked for: those of
        every unit where the tree holds every unit as stored (no unit moved since the
        plan's date), made once for the plans of every date. A national tree is sorted and
        walked in half a second: a plan and the plan it is compared with, once, not twice."""
        if self._ordered is None:
            every = self._every
            if every is not None and self.found is every.nodes:
                self._ordered = every.ordered
            else:
                self._ordered = UnitTree(_in_tree_order(self.found.values()))
        return self._ordered


def _issuer_subtree(plan: Plan, moved: bool) -> tuple[dict[int, UnitNode], frozenset[int]]:
    """The issuer's subtree as stored, and those of its units not valid on the plan's date:
    one recursive query, which carries the columns itself (no second pass over org_unit).
    With units ``moved`` since the plan's date it also starts from each of them, so that a
    unit moved out of the issuer's tree is found with its subtree."""
    day = plan.issued_on
    valid = or_(OrgUnit.valid_from.is_(None), OrgUnit.valid_from <= day) & or_(
        OrgUnit.valid_to.is_(None), OrgUnit.valid_to >= day
    )
    start = OrgUnit.id == plan.issuer_id
    if moved:  # a subquery, not a list: a reorganisation moves thousands of units
        start = or_(start, OrgUnit.id.in_(moved_since(day)))
    carried = (*_NODE_COLUMNS, valid.label("valid"))
    tree = select(*carried).where(start).cte("plan_units", recursive=True)
    tree = tree.union_all(select(*carried).where(OrgUnit.parent_id == tree.c.id))
    rows = _plain_rows(select(tree))
    found = {row[0]: _new_node(row[:5]) for row in rows}
    return found, frozenset(row[0] for row in rows if not row[5])


class _EveryUnit:
    """Every unit as stored (one query), and the first and last days of those that have
    them: the tree of every plan the one root issues, whatever its date. A national plan
    and the plan of the year before it read 105.000 units once, not twice."""

    def __init__(self) -> None:
        days = (
            day.label(f"every_unit_{day.key}") for day in (OrgUnit.valid_from, OrgUnit.valid_to)
        )
        rows = _plain_rows(select(*_NODE_COLUMNS, *days))
        self.nodes = {row[0]: _new_node(row[:5]) for row in rows}
        self.roots = [row[0] for row in rows if row[1] is None][:2]
        # The driver's own values: a date, or on SQLite its ISO text (few units have days).
        self.dated = {row[0]: (_day(row[5]), _day(row[6])) for row in rows if row[5] or row[6]}
        self._ordered: UnitTree | None = None
        self._ordering = threading.Lock()

    @property
    def ordered(self) -> UnitTree:
        """Every unit in tree order, made once: a thread that asks while another makes it
        waits (a plan and the plan it is compared with are read side by side)."""
        with self._ordering:
            if self._ordered is None:
                self._ordered = UnitTree(_in_tree_order(self.nodes.values()))
            return self._ordered

    def invalid_on(self, day: date) -> frozenset[int]:
        """The units not valid on ``day``: made later, or closed before it."""
        return frozenset(
            uid for uid, (first, last) in self.dated.items() if not _valid_on(first, last, day)
        )


def _day(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _valid_on(first: date | None, last: date | None, day: date) -> bool:
    """Whether a unit with these first and last days (either open) is valid on ``day``."""
    return (first is None or first <= day) and (last is None or last >= day)


def _every_unit_under(issuer_id: int) -> _EveryUnit | None:
    """Every unit, kept under the tree's token, where ``issuer_id`` is the one unit without
    a parent (asked first in a small query: a district's plan reads its own subtree)."""
    if not db.session.execute(select(_only_root(issuer_id))).scalar():
        return None
    every = _EVERY.get("every unit", _EveryUnit)
    if every.roots != [issuer_id]:
        return None  # a unit without a parent added since the question: walk instead
    return every


#: One read of every unit per process, under the tree's token. It weighs nothing against the
#: units kept: the trees made from it hold its very nodes (a copy only where units moved).
_EVERY: Kept[_EveryUnit] = Kept("tree", weight=lambda every: 0, size=1)


def _new_node(row: tuple[Any, ...]) -> UnitNode:
    """A node from the first five columns of a row, without the class's ``__new__``."""
    return tuple.__new__(UnitNode, row)


_KEPT: Kept[_IssuerTree] = Kept("tree", weight=lambda tree: len(tree.found))


def forget_kept_trees() -> None:
    """Drops every kept tree: the next summary reads its tree anew (a benchmark of the
    first read after a change to the tree; figures never depend on it)."""
    _KEPT.clear()
    _EVERY.clear()


def forget_kept_figures() -> None:
    """Drops every kept summary and what was made from it: the next one is made anew (a
    benchmark of the first read after a write)."""
    _FIGURES.clear()


def forget_derived_figures() -> None:
    """Drops what was made from the kept summaries (pages, comparisons), and keeps the
    summaries (a benchmark of a page asked for the first time between writes)."""
    _FIGURES.clear_derived()


def _in_tree_order(nodes: Iterable[UnitNode]) -> list[UnitNode]:
    """Siblings by name, and two of one name by id: the same order however read.

    Two stable sorts, by id and then by name, give the order of one sort by (name, id)
    in two thirds of its time for a national tree: their keys compare faster."""
    ordered = sorted(nodes, key=_by_id)
    ordered.sort(key=_by_name)
    return ordered


_by_id = itemgetter(0)


def _by_name(node: UnitNode) -> tuple[str, str]:
    return sort_key(node.name)


def _only_root(unit_id: int) -> ColumnElement[bool]:
    """Whether the unit is the one unit without a parent, the top of every other."""
    roots = select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)).limit(2).subquery()
    other = select(roots.c.id).where(roots.c.id != unit_id).exists()
    return select(roots.c.id).where(roots.c.id == unit_id).exists() & ~other


def _valid_only(
    found: dict[int, UnitNode], invalid: Collection[int], needed: set[int]
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


@bulk_reading()
def read_plan(
    plan: Plan, approved_only: bool = False, whole_tree: bool | None = None, compared: bool = False
) -> tuple[PlanSummary, Sequence[UnitNode]]:
    """The summary and the unit tree it was made from (pages name groups by parent).

    The tree is the plan's skeleton (its quota holders, the units counted apart from
    them, and the units above both) where that is quicker, or every unit: ``whole_tree``
    True asks for every unit, as a unit's page does to show its subtree, False for the
    skeleton wherever it can be read. The figures are the same either way.

    A reader that goes on to compare the plan with the one it is compared with says so
    (``compared``): a large plan's reading made anew then makes that plan's side alongside
    (:data:`ALONGSIDE`); one that does not compare is not kept waiting for it."""
    read = _read(plan, approved_only, whole_tree, by_month=False, compared=compared)
    return read[:2]


@bulk_reading()
def read_plan_and_months(
    plan: Plan, approved_only: bool = False, whole_tree: bool | None = None, compared: bool = False
) -> tuple[PlanSummary, Sequence[UnitNode], Monthly]:
    """:func:`read_plan`, and its results month by month, in one or two more queries.

    The months (:data:`Monthly`) give the progress of the whole plan; only with
    ``whole_tree`` True do they give each unit's own, for the progress of one unit."""
    return _read(plan, approved_only, whole_tree, by_month=True, compared=compared)


#: Month of a plan's year (1-12) -> unit id -> the bags of counted results in the drives ending
#: that month: each unit's own, or, read for the whole plan only, added up under fewer units
#: (a quota holder for every unit under it) whose sums rates.progress counts the same way.
Monthly = dict[int, dict[int, Bags]]

#: What :func:`read_plan` gives: the summary, its tree and its months.
Reading = tuple[PlanSummary, Sequence[UnitNode], Monthly]


class _Basis:
    """What a reading was made from, beyond what it shows: enough to bring it up to date
    with the results written since (:func:`_brought`)."""

    def __init__(
        self,
        plan: Plan,
        approved_only: bool,
        whole_tree: bool | None,
        plans: frozenset[int],
        drives: dict[int, date],
        tallies: FlatTallies,
        skeleton: bool,
        months: str,
    ) -> None:
        self.plan_id, self.issuer_id = plan.id, plan.issuer_id
        #: How the reading was asked for (see :func:`read_plan`).
        self.whole_tree = whole_tree
        self.issued_on, self.year, self.rule = plan.issued_on, plan.year, plan.counting_rule
        self.states = frozenset(_states(approved_only))
        #: The plan tree's plans, and their drives with their end days.
        self.plans, self.drives = plans, drives
        #: What the summary added up: each unit's own results, or with ``skeleton`` each
        #: skeleton node's (see :func:`_skeleton`).
        self.tallies, self.skeleton = tallies, skeleton
        #: How the months are keyed: "" (none read), "node" (as the tallies) or "whole"
        #: (one quota holder, and the units counted apart: :func:`_months_of_the_whole`).
        self.months = months
        self.nodes: dict[int, UnitNode] | None = None
        self.positions: dict[int, int] | None = None

    @property
    def counted(self) -> tuple[ColumnElement[bool], ...]:
        """The conditions on ``result`` of what the reading counts (:func:`_counted_results`)."""
        return Result.drive_id.in_(list(self.drives)), Result.state.in_(sorted(self.states))

    def after(self, tallies: FlatTallies, same_lines: bool = True) -> _Basis:
        """The same basis with the tallies after a change; without ``same_lines`` (the
        quotas changed), the lines' places and the tree are worked out again when needed."""
        basis = copy(self)
        basis.tallies = tallies
        if not same_lines:
            basis.nodes = basis.positions = None
        return basis


#: A reading as it is kept: with its basis.
_KeptReading = tuple[PlanSummary, Sequence[UnitNode], Monthly, _Basis]

#: Readings kept between writes (:mod:`campaign.services.kept`), and the earlier plans'
#: sides of their comparisons: a process keeps sixteen, and no more than a national plan's,
#: what its dashboard compares it with, and some small ones (a line and a unit each weigh
#: one; a national reading kept takes about 38 MB besides its tree).
_FIGURES: Kept[Any] = Kept(
    "figures",
    weight=lambda kept: (
        len(kept[0].lines) + len(kept[1])
        if isinstance(kept[0], PlanSummary)
        else len(kept[0].nodes)
    ),
    size=16,
    budget=450_000,
)


def _read(
    plan: Plan, approved_only: bool, whole_tree: bool | None, by_month: bool, compared: bool
) -> Reading:
    """The reading kept for the figures as they stand, brought up to date with the results
    written since it was made, or one made now. What is kept is shared: no reader changes
    it. A reading without months is served by one with them, if kept: the API's summary
    then shares the dashboard's (a national reading is 210.000 lines and units)."""
    return _kept_reading(plan, approved_only, whole_tree, by_month, compared)[:3]


def _kept_reading(
    plan: Plan, approved_only: bool, whole_tree: bool | None, by_month: bool, compared: bool
) -> _KeptReading:
    """:func:`_read`, with what the reading was made from."""
    key = ("read", plan.id, approved_only, whole_tree)
    with_months = (*key, True)
    kept: _KeptReading = _FIGURES.get(
        with_months if by_month else (*key, False),
        lambda: _made(plan, approved_only, whole_tree, by_month, compared),
        instead=None if by_month else with_months,
        bring=_brought,
    )
    return kept


@bulk_reading()
def read_plan_for_unit(plan: Plan, unit_id: int, approved_only: bool = False) -> Reading:
    """What a unit's page and progress read of ``plan``: the summary, the unit tree with
    the unit's subtree in it, and the months of that subtree (keyed by ``unit_id``, which
    ``rates.progress`` counts within the unit).

    The summary is the plan's own reading, kept and shared with the dashboard. Where that
    reading holds the whole tree (a plan for nearly every unit), so does the page; where it
    is a skeleton, the tree the whole reading would have is made once per summary, from
    the issuer's kept tree and the units that reported. The subtree's months are one more
    query. Read anew for each unit page, the plan was summarized again over its whole
    tree, its results read unit by unit and month by month (a national plan: 4,8 s)."""
    made, units, _months, basis = _kept_reading(plan, approved_only, None, True, compared=True)
    reported: Collection[int] = basis.tallies
    if basis.skeleton:
        key = ("the whole tree", plan.id, approved_only)
        units, reported = derived(made, key, lambda: _whole_tree(plan, made, basis))
    tree = UnitTree.of(units)
    if unit_id not in tree.nodes:
        return made, units, {}
    return made, units, _subtree_months(plan, basis, reported, unit_id, subtree(tree, unit_id))


def _whole_tree(plan: Plan, made: PlanSummary, basis: _Basis) -> tuple[UnitTree, frozenset[int]]:
    """The tree a reading of ``plan`` over its whole tree is made from (see
    :func:`_summarized`), for its summary ``made``, read as a skeleton: the issuer's kept
    tree, with the units the whole reading needs (its quota entries, and every unit whose
    results count: one query); and those units that reported."""
    reported = frozenset(
        row[0] for row in _plain_rows(select(Result.unit_id).where(*basis.counted).distinct())
    )
    needed = reported.union(line.unit.id for line in made.lines)
    # Not in tree order: the unit page never walks it, and sorting took half a second.
    return UnitTree.of(plan_units(plan, set(needed), in_order=False)), reported


def _subtree_months(
    plan: Plan, basis: _Basis, reported: Collection[int], unit_id: int, under: AbstractSet[int]
) -> Monthly:
    """The counted results of the units ``under`` (those of them that ``reported``, the
    units of the plan whose results count), month by month, all under ``unit_id``; none
    named where they are every unit that reported (the plan's issuer, or the nation)."""
    named = [uid for uid in reported if uid in under]
    counted = basis.counted
    chunks: list[tuple[ColumnElement[bool], ...]] = [counted]
    if len(named) < len(reported):  # not every unit that reported: name them
        chunks = [(*counted, units) for units in results_of(named)]
    monthly: Monthly = {}
    for chunk in chunks if named else []:  # none reported: nothing to read
        for row in _rows(_counted(chunk, by_day=True)):
            _add_month(monthly, plan.year, row[0], unit_id, Bags(*row[4:7]))
    return monthly


def derived(summary: PlanSummary, key: Hashable, make: Callable[[], T], lasting: bool = False) -> T:
    """What ``make`` makes from ``summary``, kept with it while its figures stand (``key``
    names what it is, from the arguments that change it); made anew for a summary not
    kept, or made before a write.

    With ``lasting``, ``make`` reads nothing but the reading ``summary`` is part of (its
    tree and months too) and the plan's own fields: it goes with a reading brought along
    writes that left the very summary in it (a reading whose results, quotas or months
    change gets a new summary; one whose tree gains units added, which no line, month or
    line's parent is, keeps it: ``make`` must not show the tree's other units). Not for
    what reads anything else: a comparison reads the earlier plan, which changes on its
    own."""
    return _FIGURES.derive(summary, key, make, lasting)


def _made(
    plan: Plan, approved_only: bool, whole_tree: bool | None, by_month: bool, compared: bool
) -> _KeptReading:
    plans, drives = plan_tree(plan.id)
    quotas = plan_quotas_and_headcounts(plan.id)
    alongside = (
        compared
        and plan.compare_with_id is not None
        and whole_tree is None
        and len(quotas[0]) >= ALONGSIDE
    )
    with _earlier_alongside(plan, approved_only, len(quotas[0])) if alongside else nullcontext():
        return _made_from(plan, approved_only, whole_tree, by_month, plans, drives, quotas)


def _made_from(
    plan: Plan,
    approved_only: bool,
    whole_tree: bool | None,
    by_month: bool,
    plans: frozenset[int],
    drives: dict[int, date],
    quotas: tuple[dict[int, int], dict[int, int]],
) -> _KeptReading:
    def basis(tallies: FlatTallies, skeleton: bool, months: str) -> _Basis:
        months = months if by_month else ""
        return _Basis(plan, approved_only, whole_tree, plans, drives, tallies, skeleton, months)

    if not whole_tree and (whole_tree is False or _worth_a_skeleton(len(quotas[0]))):
        read = _condensed(plan, quotas, approved_only, by_month, drives)
        if read is not None:
            return (*read[:3], basis(read[3], True, "node"))
    if by_month and whole_tree:  # a unit's progress: its subtree's months, unit by unit
        tallies, by_unit = counted_by_month(plan, approved_only, drives)
        return (*_summarized(plan, tallies, quotas), by_unit, basis(tallies, False, "node"))
    counted = _counted_results(plan.id, approved_only, drives)
    tallies = _tallies(counted)
    made, units = _summarized(plan, tallies, quotas)
    monthly = _months_of_the_whole(plan, made, counted) if by_month else {}
    if monthly is not None:
        return made, units, monthly, basis(tallies, False, "whole")
    monthly = counted_by_month(plan, approved_only, drives)[1]
    return made, units, monthly, basis(tallies, False, "node")


def _brought(kept: _KeptReading, changes: Sequence[Change]) -> _KeptReading | None:
    """The reading after ``changes``: the result rows of its drives (each as it was, or
    became), then its plan's quotas written; or None where it must be made again: its own
    plan written in what it was made from (:func:`_made_from_the_same`), a drive or a
    plan of its plan tree written that changes what it counts
    (:func:`_drives_rebased`), a result of a unit outside its tree, or one that comes to
    be counted apart. Units added or renamed come first (:func:`_units_written`); a step
    that moved, dated, merged or deleted a unit is not brought."""
    basis = kept[3]
    written = any(c.state == "plan" and c.plan_id == basis.plan_id for c in changes)
    if written and not _made_from_the_same(basis):
        return None  # its issuer, date, year or rule: what every figure is made from
    if any(c.state in UNIT_WRITES for c in changes):
        renamed = {c.unit_id for c in changes if c.state == UNIT_RENAMED and c.unit_id is not None}
        after = _units_written(kept, renamed)
        if after is None:
            return None
        kept, basis = after, after[3]
    touched = [c for c in changes if _touches(c, basis.plan_id, basis.plans)]
    if any(c.state != "quota" for c in touched):  # a drive or a plan of its plan tree
        rebased = _drives_rebased(basis, changes)
        if rebased is None:
            return None
        kept = (*kept[:3], rebased)
        basis = rebased
    counted = [
        c
        for c in changes
        if c.unit_id is not None and c.drive_id in basis.drives and c.state in basis.states
    ]
    brought: _KeptReading | None = kept
    if counted:
        brought = _results_brought(kept, counted)
    if brought is not None and any(c.state == "quota" for c in touched):
        brought = _requoted(brought)
    return brought


def _units_written(kept: _KeptReading, renamed: set[int]) -> _KeptReading | None:
    """The reading after units were added, or ``renamed`` (a new code, name or kind). Its
    figures are the same: a unit added holds no quota and reported nothing (a quota or a
    result written for it since is brought after this), and what a unit is called counts
    nothing. A reading over the whole tree takes the plan's tree as it stands now (the
    units added in it where valid on the plan's date), read once for every plan of its
    issuer; a skeleton keeps its nodes (the quota entries, the units that reported and
    those above them: never a unit just added), with the units renamed among them read
    again (one query). Where one of its units was renamed, the summary shows it as it is
    now, in its new place among its siblings (:func:`_renamed`). None where a skeleton
    would now be the quicker read of a whole tree, as made anew (:func:`_requoted`).

    A school added anywhere made a national plan's figures anew (three and a half
    seconds), and so did a commune's name corrected (two), for the same figures."""
    summary, units, monthly, basis = kept
    if basis.skeleton:
        shown = [node.id for node in units if node.id in renamed]
        if not shown:
            return kept
        shows = select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind)
        now = {uid: shown for uid, *shown in _plain_rows(shows.where(OrgUnit.id.in_(shown)))}
        units = _in_tree_order(
            node._replace(code=now[node.id][0], name=now[node.id][1], kind=now[node.id][2])
            if node.id in now
            else node
            for node in units
        )
    else:
        if basis.whole_tree is None and _worth_a_skeleton(len(summary.lines)):
            return None
        plan = db.session.get_one(Plan, basis.plan_id)
        needed = set(basis.tallies).union(line.unit.id for line in summary.lines)
        units = plan_units(plan, needed)
    made = _renamed(summary, units, renamed) if renamed else summary
    if made is None:
        return None
    if made is not summary:
        monthly = _months_rekeyed(basis, summary, made, monthly)
        summary = made
    # Where no unit of its tree was renamed, the very summary: what was made from the
    # reading alone goes with it (a page's listing, whose tree shows only the lines'
    # parents, none of them added).
    return summary, units, monthly, basis.after(basis.tallies, same_lines=False)


def _renamed(
    summary: PlanSummary, units: Sequence[UnitNode], renamed: set[int]
) -> PlanSummary | None:
    """``summary`` with the units ``renamed`` as the tree ``units`` now holds them, its
    lines and the units counted apart in that tree's order (siblings by name), as
    ``rates.summarize`` orders them; the totals are the same. The very summary where none
    of them is in the tree; None where a line's unit is not."""
    tree = UnitTree.of(units)
    nodes, order = tree.nodes, tree.walk[0]
    if renamed.isdisjoint(nodes):
        return summary
    by_unit = {line.unit.id: line for line in summary.lines}
    lines = [by_unit[uid] for uid in order if uid in by_unit]
    apart = {line.unit.id: line for line in summary.outside}
    outside = [apart[uid] for uid in order if uid in apart]
    if len(lines) != len(by_unit) or len(outside) != len(apart):
        return None
    for at, line in enumerate(lines):
        if line.unit.id in renamed:
            lines[at] = line._replace(unit=nodes[line.unit.id])
    for at, apart_line in enumerate(outside):
        if apart_line.unit.id in renamed:
            outside[at] = replace(apart_line, unit=nodes[apart_line.unit.id])
    return replace(summary, lines=lines, outside=outside)


def _months_rekeyed(
    basis: _Basis, before: PlanSummary, after: PlanSummary, monthly: Monthly
) -> Monthly:
    """The months of the whole (:func:`_months_of_the_whole`) under the first quota
    holder of ``after``, where a unit renamed made another holder the first."""
    old, new = _first_holder(before), _first_holder(after)
    if basis.months != "whole" or old == new or old is None or new is None:
        return monthly
    return {
        month: {new if key == old else key: bags for key, bags in by_unit.items()}
        for month, by_unit in monthly.items()
    }


def _made_from_the_same(basis: _Basis) -> bool:
    """Whether the plan, written since its reading was made, still has the issuer, date,
    year and counting rule the reading was made from (one query). What else a plan's row
    holds is read elsewhere: its targets and status where a page shows them, the plan it
    is compared with by the comparison (kept under that plan's id), its place among plans
    by the plan tree (:func:`_drives_rebased`). A national plan's targets set made its
    figures anew, two seconds for the same figures."""
    made_from = select(Plan.issuer_id, Plan.issued_on, Plan.year, Plan.counting_rule)
    row = db.session.execute(made_from.where(Plan.id == basis.plan_id)).one_or_none()
    return row is not None and tuple(row) == (
        basis.issuer_id, basis.issued_on, basis.year, basis.rule
    )  # fmt: skip


def _drives_rebased(basis: _Basis, changes: Sequence[Change]) -> _Basis | None:
    """The basis after drives or plans of its plan tree were written, where the reading
    stands as it is: each drive added, moved to other days or taken away (with a plan
    that joined or left the tree, or on its own) has no result, neither now nor among
    ``changes`` (so the reading counted none of it, and its months are the same). The
    plans and their drives are read again (one query). None otherwise: the reading is
    made again.

    Every commune plan under a national plan joins its tree, then adds its drives: each
    one made the national reading again (two seconds), where the figures are the same."""
    plans, drives = plan_tree(basis.plan_id)
    old = basis.drives
    changed = [d for d in old.keys() | drives.keys() if old.get(d) != drives.get(d)]
    if any(c.unit_id is not None and c.drive_id in changed for c in changes):
        return None
    if changed and _plain_rows(select(Result.id).where(Result.drive_id.in_(changed)).limit(1)):
        return None
    rebased = copy(basis)
    rebased.plans, rebased.drives = plans, drives
    return rebased


def _positioned(kept: _KeptReading) -> tuple[dict[int, UnitNode], dict[int, int]]:
    """The reading's tree by id and each quota entry's place in its lines, worked out once
    per reading and kept in its basis."""
    summary, units, _monthly, basis = kept
    if basis.nodes is None or basis.positions is None:
        basis.nodes = {node.id: node for node in units}
        basis.positions = {line.unit.id: at for at, line in enumerate(summary.lines)}
    return basis.nodes, basis.positions


def _results_brought(kept: _KeptReading, counted: Sequence[Change]) -> _KeptReading | None:
    """The reading after the result rows ``counted``, added to the tallies of their units
    and judged again up the tree (``rates.brought_up``); None where it cannot be."""
    summary, units, monthly, basis = kept
    nodes, positions = _positioned(kept)
    keys = _node_keys(basis, summary, {c.unit_id for c in counted if c.unit_id is not None})
    if keys is None:
        return None
    deltas: dict[int, Flat] = {}
    months: list[tuple[int, date, Bags]] = []
    for c in counted:
        assert c.unit_id is not None and c.drive_id is not None
        key = keys[c.unit_id]
        flat = _signed_flat(c)
        deltas[key] = add_flat(deltas[key], flat) if key in deltas else flat
        months.append((c.unit_id if basis.months == "whole" else key, basis.drives[c.drive_id],
                       Bags(*flat[3:6])))  # fmt: skip
    flats = dict(basis.tallies.flats)
    for key, delta in deltas.items():
        after = add_flat(flats[key], delta) if key in flats else delta
        if after[0]:
            flats[key] = after
        elif key in positions:  # a quota entry with no result left: no tally, as made anew
            flats.pop(key, None)
        else:  # a unit in the tree for its results only may leave it: made anew
            return None
    tallies = FlatTallies(flats)
    made = brought_up(summary, nodes, positions, tallies, deltas)
    if made is None:
        return None
    return made, units, _months_after(basis, summary, monthly, months), basis.after(tallies)


def _requoted(kept: _KeptReading) -> _KeptReading | None:
    """The reading after its plan's quotas were written, read as they stand (a quota
    written in a later step is logged, and read again when the reading is brought along
    it); the results are never read again.

    Where only amounts or headcounts changed, the lines changed are judged again
    (``rates.requoted``): the holders, and so the tree, the tallies and the months, are
    the same. Where a unit starts or stops holding a quota, or an entry comes or goes, a
    reading over the whole tree has its summary made again from the tallies it kept;
    None for the others: a skeleton (its nodes are the quota entries), a reading a
    skeleton would now read quicker, or months added up under a holder or units apart
    that the new quotas change."""
    summary, _units, monthly, basis = kept
    quotas = plan_quotas_and_headcounts(basis.plan_id)
    made = requoted(summary, _positioned(kept)[1], *quotas)
    if made is not None:
        return made, kept[1], monthly, basis
    if basis.skeleton or basis.whole_tree is False:
        return None
    plan = db.session.get_one(Plan, basis.plan_id)
    if basis.whole_tree is None and _worth_a_skeleton(len(quotas[0])):
        return None
    made, units = _summarized(plan, basis.tallies, quotas)
    if basis.months == "whole" and _months_key(made) != _months_key(summary):
        return None
    return made, units, monthly, basis.after(basis.tallies, same_lines=False)


def _months_key(summary: PlanSummary) -> tuple[int | None, frozenset[int]]:
    """What the months of the whole are keyed by (:func:`_months_of_the_whole`): the first
    quota holder, and the units counted apart."""
    return _first_holder(summary), frozenset(line.unit.id for line in summary.outside)


def _first_holder(summary: PlanSummary) -> int | None:
    """The quota holder the months of the whole add up every result under (none apart)."""
    return next((line.unit.id for line in summary.lines if line.is_holder), None)


def _touches(change: Change, plan_id: int | None, plans: Collection[int]) -> bool:
    """Whether ``change`` is a quota of the plan ``plan_id`` written, or a drive of one of
    ``plans`` (a plan tree), or one of them or a plan under one of them: what a reading
    made from them cannot follow as it is."""
    if change.unit_id is not None:
        return False
    if change.state == "quota":
        return change.plan_id == plan_id
    return change.plan_id in plans


def _node_keys(basis: _Basis, summary: PlanSummary, unit_ids: set[int]) -> dict[int, int] | None:
    """Each unit's node in the reading's tallies: the unit itself, or in a skeleton the
    node its results are added to (:func:`_sums`). None where one is not in the tree."""
    nodes = basis.nodes
    assert nodes is not None
    if not basis.skeleton:
        return {uid: uid for uid in unit_ids} if unit_ids <= nodes.keys() else None
    lines = summary.lines
    positions = basis.positions
    assert positions is not None
    outside = _chains_to_skeleton(basis, unit_ids - nodes.keys())
    keys = {}
    for uid in unit_ids:
        below, reached = outside.get(uid, ([], uid))
        chain = below + _chain_in(nodes, reached)
        if not chain or chain[-1] != basis.issuer_id:
            return None  # outside the issuer's subtree of units valid on the plan's date
        entries = [a for a in chain if a in positions]
        held = any(has_quota(lines[positions[a]].quota) for a in entries)
        key = entries[0] if held else uid
        if key not in nodes:
            return None  # a unit counted apart for the first time: a new node
        keys[uid] = key
    return keys


def _chain_in(nodes: Mapping[int, UnitNode], uid: int | None) -> list[int]:
    """``uid`` and the units above it among ``nodes``, nearest first."""
    chain = []
    while uid is not None and uid in nodes:
        chain.append(uid)
        uid = nodes[uid].parent_id
    return chain


def _chains_to_skeleton(
    basis: _Basis, unit_ids: set[int]
) -> dict[int, tuple[list[int], int | None]]:
    """For units not in the skeleton, each with the units above it up to the first that is,
    all valid on the plan's date, and that first one; a unit not valid then, or under no
    skeleton node, is left out. One query, up the tree."""
    nodes = basis.nodes
    assert nodes is not None
    if not unit_ids:
        return {}
    day = basis.issued_on
    valid = or_(OrgUnit.valid_from.is_(None), OrgUnit.valid_from <= day) & or_(
        OrgUnit.valid_to.is_(None), OrgUnit.valid_to >= day
    )
    start = select(OrgUnit.id.label("start"), OrgUnit.id, OrgUnit.parent_id, valid.label("valid"))
    up = start.where(OrgUnit.id.in_(sorted(unit_ids))).cte("chain", recursive=True)
    parent = select(up.c.start, OrgUnit.id, OrgUnit.parent_id, valid).join(
        up, OrgUnit.id == up.c.parent_id
    )
    up = up.union_all(parent)
    found: dict[int, dict[int, tuple[int | None, bool]]] = {}
    for start_id, unit_id, parent_id, is_valid in _rows(select(up)):
        found.setdefault(start_id, {})[unit_id] = (parent_id, bool(is_valid))
    chains: dict[int, tuple[list[int], int | None]] = {}
    for start_id, above in found.items():
        chain: list[int] = []
        uid: int | None = start_id
        while uid is not None and uid not in nodes and uid in above and above[uid][1]:
            chain.append(uid)
            uid = above[uid][0]
        if uid is not None and uid in nodes:
            chains[start_id] = (chain, uid)
    return chains


def _signed_flat(row: Change) -> Flat:
    """A result row as a :data:`Flat` tally, with the sign of its change."""
    bags = Bags(row.bags_250, row.bags_350, row.bags_450)
    return result_flat(row.registered, row.deferred, bags, row.repeat_donors, row.sign)


def _months_after(
    basis: _Basis,
    summary: PlanSummary,
    monthly: Monthly,
    changes: list[tuple[int, date, Bags]],
) -> Monthly:
    """``monthly`` with the ``changes`` (key, drive end day, signed bags) added, keyed as
    it was made (a copy: what is kept is shared)."""
    if not basis.months:
        return monthly
    after = dict(monthly)
    copied: set[int] = set()
    holder = _first_holder(summary)
    apart = {line.unit.id for line in summary.outside}
    for key, day, bags in changes:
        if basis.months == "whole" and key not in apart:
            if holder is None:
                continue  # counted by no holder and not apart: no month shows it
            key = holder
        month = _month(basis.year, day)
        if month not in copied:
            after[month] = dict(after.get(month, {}))
            copied.add(month)
        _add_month(after, basis.year, day, key, bags)
    return after


def _months_of_the_whole(
    plan: Plan, made: PlanSummary, counted: tuple[ColumnElement[bool], ...]
) -> Monthly | None:
    """The plan's months as its whole counts them, from a query grouped by drive end day:
    the units counted apart (``made.outside``) each on its own, and every other counted
    result under one quota holder, which covers them all (rates.progress adds up the
    units covered). A national plan's results by unit and day were a quarter of a million
    rows. None when the units counted apart are too many to name in one query."""
    apart = [line.unit.id for line in made.outside]
    if len(apart) > _IDS_PER_QUERY:
        return None
    holder = _first_holder(made)
    keys: tuple[Any, ...] = (Drive.ends_on,)
    if apart:
        keys = (Drive.ends_on, case((Result.unit_id.in_(apart), Result.unit_id)))
    query = (
        select(*keys, *_TALLY_SUMS[3:6])
        .join(Drive, Drive.id == Result.drive_id)
        .where(*counted)
        .group_by(*keys)
    )
    monthly: Monthly = {}
    for row in _rows(query):
        day, unit_id, bags = row[0], row[1] if apart else None, row[-3:]
        key = holder if unit_id is None else unit_id
        if key is not None:  # with no holder, every result is a unit's counted apart
            _add_month(monthly, plan.year, day, key, Bags(*bags))
    return monthly


def _worth_a_skeleton(entries: int) -> bool:
    """Whether the skeleton is the quicker read: when the entries are few beside the units.
    Where nearly every unit holds a quota (a province's plan for every unit in it) it is
    the whole tree, by a fifth on SQLite, and 200 districts in a national tree of 105.000
    units is three times quicker read as a skeleton (benchmarks/RESULTS.md)."""
    # Counted only as far as the answer needs: a district's plan in a national database
    # would otherwise count a hundred thousand units, twice per page.
    enough = entries * 2 + 1
    units = select(OrgUnit.id).limit(enough).subquery()
    return db.session.execute(select(func.count()).select_from(units)).scalar_one() == enough


def _summarized(
    plan: Plan,
    tallies: Mapping[int, Tally],
    quotas_and_headcounts: tuple[dict[int, int], dict[int, int]],
) -> tuple[PlanSummary, Sequence[UnitNode]]:
    quotas, headcounts = quotas_and_headcounts
    units = plan_units(plan, set(quotas) | set(tallies))
    return summarize(units, quotas, tallies, plan.rule, headcounts), units


# --- The plan rolled up by the database ---------------------------------------------------
#
# A national plan's tree has a hundred thousand units; handing each to Python to add them
# up took seconds. Here the database walks the tree from the issuer and adds up, for each
# quota holder, the results of the units whose nearest unit holding a quota entry it is:
# the rows that come back are one per quota entry (and one per unit counted apart from
# every holder). ``rates.summarize`` then runs on that skeleton, the entries and the units
# above them, and rolls up the rest exactly as over the whole tree: each unit's results
# are in the one skeleton node whose subtree holds it.
#
# It answers only where the tree of the plan's date is today's tree: no unit moved since
# the plan's date, and every quota entry and every counted result lies in the issuer's
# subtree of units valid on that date. Otherwise (a 2021 plan read after the 2025 reform)
# it returns None and the summary is made over the whole tree as before.


def _condensed(
    plan: Plan,
    quotas_and_headcounts: tuple[dict[int, int], dict[int, int]],
    approved_only: bool,
    by_month: bool,
    drives: Collection[int] | None = None,
) -> tuple[PlanSummary, Sequence[UnitNode], Monthly, FlatTallies] | None:
    """The summary made on the plan's skeleton, its tree, months and skeleton tallies."""
    quotas, headcounts = quotas_and_headcounts
    entries = select(Quota.unit_id, Quota.amount).where(Quota.plan_id == plan.id)
    read = _skeleton(plan, entries, approved_only, by_month, apart=True, drives=drives)
    if read is None:
        return None
    nodes, tallies, monthly, reached = read
    if reached != len(quotas):
        return None  # a quota entry outside the issuer's valid subtree
    units = _in_tree_order(nodes.values())
    made = summarize(units, quotas, tallies, plan.rule, headcounts)
    return made, units, monthly, tallies


class _Skeleton(NamedTuple):
    nodes: dict[int, UnitNode]
    tallies: FlatTallies
    monthly: Monthly
    #: How many entries the walk reached.
    reached: int


def _skeleton(
    plan: Plan,
    entries: Select[Any],
    approved_only: bool,
    by_month: bool,
    apart: bool,
    drives: Collection[int] | None = None,
) -> _Skeleton | None:
    """The plan's tree reduced to ``entries`` (unit id, amount) and the units above them,
    each with the counted results of the units whose nearest entry it is; with ``apart``,
    also each unit under no entry holding an amount above 0 that counted results, on its
    own. None where the tree of the plan's date is not today's (see above)."""
    if _moved_since(plan.issued_on):
        return None
    walk = _walk(plan, entries.subquery())
    sums = _sums(plan, walk, approved_only, by_month, apart, drives)
    # The entries and the issuer, in the same statement as the sums: the tree is walked
    # once. Their rows carry a tag where the sums have 0, and nulls for the figures.
    tag = case((walk.c.entry == 1, 1), else_=2)
    blanks = [null()] * (len(sums.selected_columns) - 6)
    shown = select(
        tag, walk.c.id, walk.c.parent_id, walk.c.code, walk.c.name, walk.c.kind, *blanks
    ).where(or_(walk.c.entry == 1, walk.c.id == plan.issuer_id))
    nodes: dict[int, UnitNode] = {}
    reached = 0
    flats: dict[int, tuple[int, ...]] = {}
    monthly: Monthly = {}
    counted = []
    for row in _rows(union_all(sums, shown)):
        if row[0]:
            nodes[row[1]] = UnitNode(*row[1:6])
            reached += row[0] == 1
        else:
            counted.append(row)
    for summed in counted:
        key, parent_id, code, name, kind = summed[1:6]
        if key is None:
            return None  # results of a unit outside the issuer's valid subtree
        day, flat = (summed[6], tuple(summed[7:])) if by_month else (None, tuple(summed[6:]))
        if code is not None and key not in nodes:  # a unit counted apart
            nodes[key] = UnitNode(key, parent_id, code, name, kind)
        flats[key] = add_flat(flats[key], flat) if key in flats else flat
        if day is not None:
            _add_month(monthly, plan.year, day, key, Bags(*flat[3:6]))
    return _Skeleton(_with_ancestors(nodes, plan.issuer_id), FlatTallies(flats), monthly, reached)


def _moved_since(day: date) -> bool:
    return db.session.execute(select(moved_since(day).exists())).scalar_one()


def _walk(plan: Plan, entries: Any) -> Any:
    """The issuer's subtree of units valid on the plan's date, each with ``anchor``, its
    nearest unit at or above it holding a quota entry in the plan, ``held`` (1 when a unit
    at or above it holds a quota above 0: its results count for that holder) and
    ``entry``; code, name and kind come only for the entries and the units not held (the
    others are never shown)."""
    unit = OrgUnit.__table__
    is_entry = entries.c.unit_id.is_not(None)
    holds = entries.c.amount > 0

    def columns(anchor: Any, held: Any) -> tuple[Any, ...]:
        shown = or_(is_entry, held == 0)
        return (
            unit.c.id,
            unit.c.parent_id,
            anchor.label("anchor"),
            held.label("held"),
            case((is_entry, 1), else_=0).label("entry"),
            case((shown, unit.c.code)).label("code"),
            case((shown, unit.c.name)).label("name"),
            case((shown, unit.c.kind)).label("kind"),
        )

    top = columns(case((is_entry, unit.c.id)), case((holds, 1), else_=0))
    start = (
        select(*top)
        .select_from(unit.outerjoin(entries, entries.c.unit_id == unit.c.id))
        .where(unit.c.id == plan.issuer_id)
    )
    walk = start.cte("plan_walk", recursive=True)
    anchor = case((is_entry, unit.c.id), else_=walk.c.anchor)
    held = case((or_(walk.c.held == 1, holds), 1), else_=0)
    valid = or_(unit.c.valid_from.is_(None), unit.c.valid_from <= plan.issued_on) & or_(
        unit.c.valid_to.is_(None), unit.c.valid_to >= plan.issued_on
    )
    below = (
        select(*columns(anchor, held))
        .select_from(
            unit.join(walk, unit.c.parent_id == walk.c.id).outerjoin(
                entries, entries.c.unit_id == unit.c.id
            )
        )
        .where(valid)
    )
    return walk.union_all(below)


def _sums(
    plan: Plan,
    walk: Any,
    approved_only: bool,
    by_month: bool,
    apart: bool,
    drives: Collection[int] | None = None,
) -> Select[Any]:
    """The counted results of the plan tree's drives added up by skeleton node: a held
    unit's go to its anchor, a unit not held is a node of its own (with its parent, code,
    name and kind), or with ``apart`` false is left out. A result of a unit the walk did
    not reach comes with a null key."""
    alone = walk.c.held == 0
    key = case((alone, walk.c.id), else_=walk.c.anchor).label("key")
    described = (
        case((alone, walk.c.parent_id)),
        case((alone, walk.c.code)),
        case((alone, walk.c.name)),
        case((alone, walk.c.kind)),
    )
    month = (Drive.ends_on,) if by_month else ()
    # Without ``apart``, a result under no entry is left out; one the walk did not reach
    # (a null id) still comes, so that the caller knows.
    kept = true() if apart else or_(walk.c.id.is_(None), walk.c.held == 1)
    query = select(literal(0).label("tag"), key, *described, *month, *_TALLY_SUMS)
    query = query.select_from(Result)
    if by_month:  # the drive only for its day (see _counted)
        query = query.join(Drive, Drive.id == Result.drive_id)
    return (
        query.outerjoin(walk, walk.c.id == Result.unit_id)
        .where(*_counted_results(plan.id, approved_only, drives), kept)
        .group_by(key, *described, *month)
    )


def _with_ancestors(nodes: dict[int, UnitNode], issuer_id: int) -> dict[int, UnitNode]:
    """``nodes`` and every unit between them and the issuer, the issuer included: a few
    queries, one per level of the tree that is not already there."""
    found = dict(nodes)
    wanted = _parents(found, found, issuer_id) | ({issuer_id} - found.keys())
    while wanted:
        batch = sorted(wanted)
        for start in range(0, len(batch), _IDS_PER_QUERY):
            chunk = batch[start : start + _IDS_PER_QUERY]
            for row in _plain_rows(select(*_NODE_COLUMNS).where(OrgUnit.id.in_(chunk))):
                found[row[0]] = UnitNode(*row)
        wanted = _parents({i: found[i] for i in batch if i in found}, found, issuer_id)
    return found


def _parents(nodes: dict[int, UnitNode], known: dict[int, UnitNode], issuer_id: int) -> set[int]:
    """The parents of ``nodes`` not ``known`` yet, going no higher than the issuer."""
    return {
        n.parent_id
        for n in nodes.values()
        if n.id != issuer_id and n.parent_id is not None and n.parent_id not in known
    }


#: Ids named in one query: well under SQLite's limit on bound parameters.
_IDS_PER_QUERY = 5_000


@bulk_reading()
def comparison(
    plan: Plan,
    summary: PlanSummary,
    approved_only: bool = False,
    whole_tree: bool | None = None,
    among: Collection[int] | None = None,
    keep: bool = True,
) -> Comparison:
    """:func:`_comparison`, kept with ``summary`` while its figures stand; not kept without
    ``keep`` (a unit's page: one line looked up in the earlier side, which is kept anyway,
    where keeping each unit's would push the dashboard's pages out of what is kept)."""
    if not keep:
        return _comparison(plan, summary, approved_only, whole_tree, among)
    asked = None if among is None else frozenset(among)
    key = ("comparison", plan.id, approved_only, whole_tree, asked)
    return derived(
        summary, key, lambda: _comparison(plan, summary, approved_only, whole_tree, among)
    )


def _comparison(
    plan: Plan,
    summary: PlanSummary,
    approved_only: bool,
    whole_tree: bool | None,
    among: Collection[int] | None,
) -> Comparison:
    """``summary`` (of ``plan``) beside the plan it is compared with: that plan's counted
    results, its tree as of its date and the mergers since, in five more queries.

    ``approved_only`` reads the earlier plan the same way as ``summary``; the earlier plan
    is read as a skeleton of this plan's quota entries where that is quicker
    (``whole_tree`` as in :func:`read_plan`), else over its whole tree. Either way it is
    read for every line, and kept: ``among`` compares the lines of those units only, and
    the totals (see ``rates.compare``), and each page of a national plan's lines is a few
    hundred lines looked up, not the earlier plan read again."""
    before = plan.compare_with
    if before is None:
        return NO_COMPARISON
    merged = select(OrgUnit.id, OrgUnit.merged_into_id).where(OrgUnit.merged_into_id.is_not(None))
    merged_into = {old: new for old, new in _rows(merged)}
    # One line per quota entry: the entries are counted.
    rolled = _earlier_side(plan, before, len(summary.lines), approved_only, whole_tree)[0]
    return compare(summary, rolled, before.rule, merged_into, among)


def _earlier_side(
    plan: Plan, before: Plan, entries: int, approved_only: bool, whole_tree: bool | None
) -> _Earlier:
    """The side of ``before`` (the plan ``plan`` is compared with, which has ``entries``
    quota entries) in a comparison, kept on its own: a result saved in ``plan`` leaves it as
    it was (a national plan's took half a second to read). Under the plan it compares with
    too: the plan written to compare with another reads that one."""

    of_before = before.issuer_id, before.issued_on

    def earlier() -> _Earlier:
        plans, drives = plan_tree(before.id)
        if not whole_tree and (whole_tree is False or _worth_a_skeleton(entries)):
            # The units compared: this plan's quota entries, and the units merged into
            # others (the predecessors of some of them).
            quota_entries = select(Quota.unit_id, literal(1).label("amount")).where(
                Quota.plan_id == plan.id
            )
            merged_units = select(OrgUnit.id, literal(1)).where(OrgUnit.merged_into_id.is_not(None))
            wanted = select(union(quota_entries, merged_units).subquery())
            read = _skeleton(before, wanted, approved_only, False, False, drives)
            if read is not None:
                # Made from this plan's quota entries too.
                rolled = roll_up(read.nodes.values(), read.tallies)
                return _Earlier(rolled, frozenset(drives), plans, plan.id, *of_before)
        tallies = _tallies(_counted_results(before.id, approved_only, drives))
        # In tree order: a kept tree's walk is worked out once.
        rolled = roll_up(plan_units(before, set(tallies)), tallies)
        return _Earlier(rolled, frozenset(drives), plans, None, *of_before)

    key = ("earlier", plan.id, before.id, approved_only, whole_tree)
    side: _Earlier = _FIGURES.get(key, earlier, bring=_untouched)
    return side


#: A plan with this many quota entries or more, its reading over the whole tree made anew,
#: has the side of the plan it is compared with made at the same time, in a thread of its
#: own: each waits on the database in part, and a national plan's page is made a quarter
#: of a second sooner (benchmarks/RESULTS.md). A province's plan is ten thousand entries.
ALONGSIDE = 10_000


@contextmanager
def _earlier_alongside(plan: Plan, approved_only: bool, entries: int) -> Iterator[None]:
    """Makes and keeps the earlier side of ``plan``'s comparison (:func:`_earlier_side`,
    as its pages will ask for it, with ``entries`` quota entries) while the block runs;
    the block ends when both have.

    The thread reads in a transaction of its own, and its side is kept under the figures'
    token that transaction sees, as any reading: a reader whose transaction sees another
    (a write committed between, or one of its own) makes its side itself."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = threading.Thread(
        target=_earlier_in_a_thread,
        args=(app, plan.id, approved_only, entries),
        name=f"earlier side of plan {plan.id}",
    )
    worker.start()
    try:
        yield
    finally:
        worker.join()


def _earlier_in_a_thread(app: Flask, plan_id: int, approved_only: bool, entries: int) -> None:
    """:func:`_earlier_side` of the plan ``plan_id``, in an app context of its own. A
    failure is logged and dropped: the comparison then makes the side itself."""
    try:
        with app.app_context(), bulk_reading():
            plan = db.session.get_one(Plan, plan_id)
            if plan.compare_with is not None:
                _earlier_side(plan, plan.compare_with, entries, approved_only, None)
    except Exception:  # nothing is lost: the comparison makes it again
        app.logger.warning("the earlier side of plan %s was not made", plan_id, exc_info=True)


class _Earlier(NamedTuple):
    """The earlier plan's side of a comparison."""

    #: Its tree rolled up.
    rolled: Earlier
    #: What it was made from: the drives and plans of the earlier plan tree.
    drives: frozenset[int]
    plans: frozenset[int]
    #: The plan whose quota entries it compares, if it compares them alone (a skeleton).
    entries: int | None
    #: The earlier plan's issuer and date: its tree is the issuer's of that day.
    issuer_id: int
    day: date


def _untouched(kept: _Earlier, changes: Sequence[Change]) -> _Earlier | None:
    """The earlier plan's side, if no result of its drives changed, no drive or plan of
    its plan tree (nor a plan put under one), and no quota of the plan whose entries it
    compares; with the units added since in its tree (:func:`_with_units_added`)."""
    added = []
    for c in changes:
        if c.state == UNIT_RENAMED:
            continue  # what a unit is called: not what a comparison reads of its tree
        if c.state == UNIT_ADDED:
            added.append(c.unit_id)
        elif c.unit_id is not None:
            if c.drive_id in kept.drives:
                return None
        elif _touches(c, kept.entries, kept.plans):
            return None
    return _with_units_added(kept, added) if added else kept


def _with_units_added(kept: _Earlier, added: list[int | None]) -> _Earlier | None:
    """The earlier side after units were added (one query): each of them valid on the
    earlier plan's date, under a unit of its tree, joins it as made anew, with nothing
    counted; so a line a unit added gets a quota on is compared with 0, not with nothing.
    A skeleton of the quota entries is the same (a unit added holds none); a unit added
    already merged into another is made anew (the skeleton names every unit merged)."""
    columns = (*_NODE_COLUMNS, OrgUnit.valid_from, OrgUnit.valid_to, OrgUnit.merged_into_id)
    rows = _plain_rows(select(*columns).where(OrgUnit.id.in_(added)).order_by(OrgUnit.id))
    if any(row[7] is not None for row in rows):
        return None
    if kept.entries is not None:
        return kept
    day, top = kept.day, kept.issuer_id
    valid = [_new_node(row[:5]) for row in rows if _valid_on(_day(row[5]), _day(row[6]), day)]
    nodes = dict(kept.rolled.nodes)
    while valid:  # parents first, whatever their ids
        joined = [node for node in valid if top in _chain_in(nodes, node.parent_id)]
        if not joined:
            break
        nodes.update((node.id, node) for node in joined)
        valid = [node for node in valid if node.id not in nodes]
    return kept._replace(rolled=kept.rolled._replace(nodes=nodes))


@bulk_reading()
def plan_summary(plan: Plan, approved_only: bool = False, compared: bool = False) -> PlanSummary:
    """Five to seven queries whatever the size of the plan; the rules are in ``rates``.
    ``compared`` as in :func:`read_plan`."""
    return read_plan(plan, approved_only, compared=compared)[0]


def figures(
    made: PlanSummary,
    targets: Targets = NO_TARGETS,
    compared: Comparison = NO_COMPARISON,
    page: int = 1,
    per_page: int | None = None,
) -> dict[str, Any]:
    """The summary's totals and lines as the API writes them (``SummarySchema``): plain
    numbers, rounded for display by ``rates``, so every JSON answer shows the same; each
    share judged against the plan's ``targets``, each collected figure beside the
    ``compared`` plan's. With ``per_page``, only that page of the lines."""
    totals = made.totals
    lines = made.lines if per_page is None else page_of(made.lines, page, per_page)
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
            for line in lines
        ],
        "units_total": len(made.lines),
    }


def page_of(lines: Sequence[Line], page: int, per_page: int) -> Sequence[Line]:
    """The lines of one page (from 1) of ``per_page`` lines."""
    return lines[(page - 1) * per_page : page * per_page]


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


def counted_by_month(
    plan: Plan, approved_only: bool = False, drives: Collection[int] | None = None
) -> tuple[FlatTallies, Monthly]:
    """:func:`counted_tallies` and the same results month by month, from one query grouped
    by unit and drive end day (a dashboard shows both).

    A drive ending outside the plan's year counts in its first or last month, so the
    year's last month always holds everything the plan counts."""
    query = _counted(_counted_results(plan.id, approved_only, drives), Result.unit_id, by_day=True)
    flats: dict[int, tuple[int, ...]] = {}
    monthly: Monthly = {}
    for row in _rows(query):
        unit_id, day, flat = row[0], row[1], tuple(row[2:])
        flats[unit_id] = add_flat(flats[unit_id], flat) if unit_id in flats else flat
        _add_month(monthly, plan.year, day, unit_id, Bags(*flat[3:6]))
    return FlatTallies(flats), monthly


def results_of(units: Collection[int]) -> list[ColumnElement[bool]]:
    """Conditions on ``result`` that together select the results of ``units``, however
    many: on PostgreSQL one, naming them in an array (a national tree's 105.000 in 0,4 s,
    where the walk of the unit's subtree in the same query took 2 s: the database cannot
    estimate a recursive query); on SQLite one per few thousand (its bound parameters)."""
    ids = sorted(units)
    if db.session.get_bind().dialect.name == "postgresql":
        return [Result.unit_id == any_(literal(ids, ARRAY(Integer)))]
    return [
        Result.unit_id.in_(ids[start : start + _IDS_PER_QUERY])
        for start in range(0, len(ids), _IDS_PER_QUERY)
    ]


def tallies_by_drive(where: tuple[ColumnElement[bool], ...]) -> list[tuple[int, int, Tally]]:
    """The drives of the results ``where`` selects (conditions on ``result``), each with
    how many of them it has in every state and its counted ones added up (empty when none
    counts yet), in one pass over the results: a unit's page, whatever its subtree."""
    query = select(Result.drive_id, Result.state, *_TALLY_SUMS).where(*where)
    reports: dict[int, int] = {}
    counted: dict[int, Flat] = {}
    for drive_id, state, *flat in _plain_rows(query.group_by(Result.drive_id, Result.state)):
        reports[drive_id] = reports.get(drive_id, 0) + flat[0]
        if state in COUNTED_STATES:
            before = counted.get(drive_id)
            counted[drive_id] = tuple(flat) if before is None else add_flat(before, tuple(flat))
    tallies = FlatTallies(counted)
    return [(d, n, tallies.get(d, EMPTY)) for d, n in reports.items()]


def _add_month(monthly: Monthly, year: int, day: date, unit_id: int, bags: Bags) -> None:
    """Adds ``bags`` to ``monthly`` in the month of ``day``; a drive ending outside the
    plan's year counts in its first or last month."""
    by_unit = monthly.setdefault(_month(year, day), {})
    by_unit[unit_id] = by_unit[unit_id] + bags if unit_id in by_unit else bags


def _month(year: int, day: date) -> int:
    """The month of the plan's ``year`` a drive ending on ``day`` counts in."""
    return 1 if day.year < year else 12 if day.year > year else day.month


def months_elapsed(year: int, today: date) -> int:
    """How many months of ``year`` have begun by ``today``: 12 for a past year, 0 for one
    to come."""
    if year < today.year:
        return 12
    return today.month if year == today.year else 0


def plan_progress(
    plan: Plan,
    summary: PlanSummary,
    units: Sequence[UnitNode],
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
