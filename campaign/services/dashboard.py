"""What the plan dashboard and a unit's page show: rates' figures, filtered, sorted, grouped.

Every figure comes from :mod:`campaign.rates`; this module only chooses which lines to
show, in what order, and hands each group of lines to :func:`rates.totals`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction
from itertools import groupby
from typing import Any, NamedTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from campaign.charts import LineChart, line_chart
from campaign.extensions import db
from campaign.memory import bulk_reading
from campaign.models import COUNTED_STATES, Drive, Plan, PlanStatus, Quota, Result
from campaign.rates import (
    NO_COMPARISON,
    NO_TARGETS,
    Bags,
    Comparison,
    CountingRule,
    Line,
    MonthPoint,
    PlanSummary,
    Status,
    Tally,
    Target,
    Targets,
    Totals,
    UnitNode,
    UnitTree,
    blood_units,
    completion_rate,
    has_quota,
    rough_rate,
    subtree,
    totals,
)
from campaign.services.reporting import DriveTotals, drives_totals
from campaign.services.summary import (
    Monthly,
    Reading,
    comparison,
    derived,
    page_of,
    plan_and_descendants,
    plan_progress,
    plan_summary,
    read_plan_and_months,
    results_of,
    tallies_by_drive,
)
from campaign.text import fold, sort_key

SORTS: dict[str, Callable[[Line], Any]] = {
    "name": lambda line: sort_key(line.unit.name),
    "quota": lambda line: line.quota or 0,
    "collected": lambda line: line.collected,
    # Units without a rate sort below every rate, whichever the direction.
    "rate": lambda line: (line.rate is not None, line.rate or Fraction(0)),
    "status": lambda line: list(Status).index(line.status),
}
GROUPS = ("kind", "parent")
#: A plan with more lines than a page lists them a page at a time (a national plan has a
#: hundred thousand); searching, filtering and sorting then happen on the server, over the
#: whole plan. The app's setting ``DASHBOARD_PAGE_SIZE`` overrides it.
PAGE_SIZE = 200
#: Bars in the chart of a plan listed page by page: the quota holders furthest behind.
CHART_BARS = 40
#: Subtotals a dashboard page shows at most. A plan with more groups (a national plan by
#: parent: 47.000, a 13 MB page) shows those of the units on the page, and how many there are.
GROUPS_LISTED = 200
#: A status filter that is not one status: quota holders below their quota or not reported.
NOT_COMPLETED = "not_completed"


@dataclass(frozen=True)
class Filters:
    status: str = ""
    kind: str = ""
    q: str = ""
    sort: str = ""
    desc: bool = False
    group: str = "kind"
    #: A target of the plan's: only the quota holders missing it.
    missed: str = ""
    targets: Targets = NO_TARGETS
    #: The page of the table, from 1 (plans longer than a page).
    page: int = 1

    @classmethod
    def from_args(cls, args: Any, targets: Targets = NO_TARGETS) -> Filters:
        """Unknown values are ignored rather than refused: these are bookmarkable links."""
        status = args.get("status", "")
        sort = args.get("sort", "")
        group = args.get("group", "kind")
        missed = args.get("missed", "")
        return cls(
            missed=missed if missed in targets.set() else "",
            targets=targets,
            status=status if status in (*Status.__members__.values(), NOT_COMPLETED) else "",
            kind=args.get("kind", "")[:20],
            q=args.get("q", "")[:100],
            sort=sort if sort in SORTS else "",
            desc=args.get("dir") == "desc",
            group=group if group in GROUPS else "kind",
            page=page_number(args.get("trang", "")),
        )

    @property
    def narrows(self) -> bool:
        """Whether some lines may be left out (sorting and grouping leave out none)."""
        return bool(self.status or self.kind or self.q or self.missed)

    def keep(self, line: Line) -> bool:
        if self.status == NOT_COMPLETED:
            if not line.is_holder or line.status.completed:
                return False
        elif self.status and line.status.value != self.status:
            return False
        if self.kind and line.unit.kind != self.kind:
            return False
        if self.missed and (
            not line.is_holder or Target(self.missed) not in line.shares.missed(self.targets)
        ):
            return False
        needle = fold(self.q)
        return not needle or needle in fold(line.unit.name) or needle in fold(line.unit.code)


def page_number(text: str) -> int:
    """A page asked for in the address; anything but a plain number is the first page."""
    if not (text.isascii() and text.isdigit()) or len(text) > 7:
        return 1
    return max(int(text), 1)


@dataclass(frozen=True)
class Group:
    key: str
    name: str
    totals: Totals


@dataclass(frozen=True)
class Progress:
    """A plan's or a unit's months so far, and where the chart draws them."""

    year: int
    quota: int
    points: list[MonthPoint]
    chart: LineChart


def progress_of(
    plan: Plan,
    summary: PlanSummary,
    units: Sequence[UnitNode],
    today: date,
    unit_id: int | None,
    monthly: Monthly,
) -> Progress:
    quota, points = plan_progress(plan, summary, units, today, unit_id, monthly)
    return Progress(plan.year, quota, points, line_chart(points, quota))


@dataclass(frozen=True)
class Dashboard:
    summary: PlanSummary
    lines: list[Line]
    groups: list[Group]
    #: Quota holders for the chart, lowest rate first: who is behind shows at the top.
    chart: list[Line]
    #: Each line's position under every sort, so the page can re-sort without asking again.
    ranks: dict[str, dict[int, int]]
    progress: Progress | None
    #: Each line beside what the plan compared with counted ("so với cùng kỳ").
    compared: Comparison = NO_COMPARISON
    #: The page shown, how many there are, and how many lines match the filter in all.
    page: int = 1
    pages: int = 1
    matched: int = 0
    page_size: int = PAGE_SIZE
    #: How many groups the filter's lines make in all (holding a quota): more than
    #: ``groups`` where those are the groups of the page's lines alone.
    groups_count: int = 0

    @property
    def groups_of_the_page(self) -> bool:
        return self.groups_count > len(self.groups)

    @property
    def paged(self) -> bool:
        return self.pages > 1

    @property
    def first(self) -> int:
        """How many lines come before the page's first (its STT is one more)."""
        return (self.page - 1) * self.page_size

    @property
    def kinds(self) -> list[str]:
        return sorted({line.unit.kind for line in self.summary.lines})


@bulk_reading()
def dashboard(
    plan: Plan,
    filters: Filters,
    today: date | None = None,
    approved_only: bool = False,
    page_size: int = PAGE_SIZE,
) -> Dashboard:
    """The dashboard's figures; with ``today``, the plan's progress through its year too.

    A plan with more lines than ``page_size`` gives one page of them, sorted and filtered
    over the whole plan, and a chart of the holders furthest behind. It is kept with the
    plan's summary until its figures change (:func:`campaign.services.summary.derived`)."""
    # One query gives the counted results and their months (the progress chart needs them).
    reading = read_plan_and_months(plan, approved_only, compared=True)
    key = ("dashboard", filters, today, page_size)
    return derived(
        reading[0], key, lambda: _dashboard(plan, filters, today, approved_only, page_size, reading)
    )


#: The dashboards a server process makes as it starts (:func:`warm`), at most.
WARMED = 2


def warm(today: date, page_size: int = PAGE_SIZE) -> list[int]:
    """Makes and keeps the first page of the dashboards read most, as their first reader
    would: the active plans of the latest year that no plan is above (the national or the
    province plan), those with the most quota entries first, at most :data:`WARMED`; with
    the plan each is compared with. Their ids.

    A national plan's figures take two seconds to make, and each server process made them
    at its first reader after every restart; a write since is brought up to date as after
    any reading kept (:mod:`campaign.services.kept`)."""
    latest = select(func.max(Plan.year)).where(Plan.parent_id.is_(None)).scalar_subquery()
    entries = select(func.count()).where(Quota.plan_id == Plan.id).scalar_subquery()
    read_most = (
        select(Plan)
        .where(
            Plan.parent_id.is_(None),
            Plan.year == latest,
            Plan.status == PlanStatus.ACTIVE.value,
        )
        .order_by(entries.desc(), Plan.id)
        .limit(WARMED)
    )
    warmed = []
    for plan in db.session.scalars(read_most).all():
        dashboard(plan, Filters.from_args({}, plan.targets), today, page_size=page_size)
        warmed.append(plan.id)
    return warmed


def _dashboard(
    plan: Plan,
    filters: Filters,
    today: date | None,
    approved_only: bool,
    page_size: int,
    reading: Reading,
) -> Dashboard:
    summary = reading[0]
    # What every page of one filter shows is made once, and kept with the summary, and so
    # is each order of its lines: the next page of a national plan is its lines looked up,
    # not the plan gone over again.
    shown_all = replace(filters, page=1, sort="", desc=False)
    # Both read the reading alone: they stay with it when a write leaves its summary as it
    # was (a quota of another plan, a drive scheduled, a unit added: its tree shows only
    # the parents of the lines, and the months), where the page's comparison does not.
    listing = derived(
        summary,
        ("listing", shown_all, today, page_size),
        lambda: _listing(plan, shown_all, today, page_size, reading),
        lasting=True,
    )
    if filters.sort:
        ordered = derived(
            summary,
            ("in order", shown_all, filters.sort, filters.desc),
            lambda: in_order(list(listing.lines), filters.sort, filters.desc),
            lasting=True,
        )
        listing = listing._replace(lines=ordered)
    pages = _pages(len(listing.lines), page_size)
    page = min(filters.page, pages)
    lines = listing.lines
    if pages > 1:
        lines = lines[(page - 1) * page_size : page * page_size]
    # A plan listed page by page shows the previous figures of its page only.
    shown = [line.unit.id for line in lines] if pages > 1 else None
    compared = comparison(plan, summary, approved_only, among=shown)
    grouped = listing.groups
    groups = grouped.all if grouped.all is not None else grouped.of(lines, summary.rule)
    return Dashboard(
        summary, lines, groups, listing.chart, listing.ranks,
        listing.progress, compared, page, pages, len(listing.lines), page_size, grouped.holding,
    )  # fmt: skip


class _Listing(NamedTuple):
    """What every page of a dashboard shows for one filter, whatever the sort."""

    #: The lines the filter keeps, in the plan's order.
    lines: list[Line]
    groups: _Grouped
    chart: list[Line]
    ranks: dict[str, dict[int, int]]
    progress: Progress | None


def _listing(
    plan: Plan, filters: Filters, today: date | None, page_size: int, reading: Reading
) -> _Listing:
    summary, units, monthly = reading
    nodes = UnitTree.of(units).nodes
    lines = list(filter(filters.keep, summary.lines)) if filters.narrows else list(summary.lines)
    # Subtotals and chart follow the filter; the tiles and the table's total stay the plan's.
    groups = _grouped(lines, nodes, filters.group, summary.rule)
    holders = [line for line in lines if line.is_holder]
    pages = _pages(len(lines), page_size)
    chart = furthest_behind(holders, CHART_BARS if pages > 1 else len(holders))
    ranks: dict[str, dict[int, int]] = {}
    if pages == 1:  # the whole table is on the page: the browser may sort it again
        ranks = {
            key: {line.unit.id: n for n, line in enumerate(sorted(summary.lines, key=order))}
            for key, order in SORTS.items()
        }
    progress = progress_of(plan, summary, units, today, None, monthly) if today else None
    return _Listing(lines, groups, chart, ranks, progress)


def _pages(lines: int, page_size: int) -> int:
    """How many pages ``lines`` lines take (one, for none)."""
    return max(1, -(-lines // page_size))


def in_order(lines: list[Line], sort: str, desc: bool) -> list[Line]:
    """``lines`` sorted by ``SORTS[sort]``, descending with ``desc``, stable.

    By rate, a national plan's hundred thousand exact rates took two seconds: the lines
    are sorted by each rate rounded to a float, which never puts two rates the other way
    round, and only lines whose floats are equal are sorted again by their exact rates."""
    if sort != "rate":
        return sorted(lines, key=SORTS[sort], reverse=desc)
    rough = [(has_quota(line.quota), rough_rate(line.collected, line.quota)) for line in lines]
    order = sorted(range(len(lines)), key=rough.__getitem__, reverse=desc)
    ordered: list[Line] = []
    for (_, rate), run in groupby(order, key=rough.__getitem__):
        same = [lines[i] for i in run]
        # 0 is nothing collected (or no quota): one exact rate. So are most runs of one
        # float (a plan's many units at exactly 100 %): told by integers, not fractions.
        if rate != 0 and any(not _same_rate(same[0], line) for line in same[1:]):
            same.sort(key=SORTS[sort], reverse=desc)
        ordered.extend(same)
    return ordered


def _same_rate(one: Line, other: Line) -> bool:
    """Whether two lines holding quotas have the same exact rate, C₁/Q₁ = C₂/Q₂."""
    c1, c2 = one.collected, other.collected
    q1, q2 = one.quota or 0, other.quota or 0
    return c1.numerator * c2.denominator * q2 == c2.numerator * c1.denominator * q1


def behind(line: Line) -> tuple[Fraction, tuple[str, str]]:
    """The chart's order: lowest rate first, who is behind shows at the top."""
    return line.rate or Fraction(0), sort_key(line.unit.name)


def furthest_behind(holders: list[Line], count: int) -> list[Line]:
    """The ``count`` quota holders first in :func:`behind`'s order, in that order.

    A national plan has a hundred thousand holders, and an exact rate for each took half
    a second. Each rate rounded to a float picks the candidates: rounding never reverses
    two rates, so every holder among the first has a float at most the count-th smallest.
    Only the candidates get an exact rate."""
    if len(holders) > count:
        rough = [rough_rate(line.collected, line.quota) for line in holders]
        cut = heapq.nsmallest(count, rough)[-1]
        holders = [line for line, rate in zip(holders, rough, strict=True) if rate <= cut]
    return heapq.nsmallest(count, holders, key=behind)


class _Grouped(NamedTuple):
    """A filter's lines by group, and the subtotals a page shows of them."""

    #: Each group's lines, and its name (a parent's; "" for a kind), by key.
    lines: dict[str, list[Line]]
    names: dict[str, str]
    #: The groups holding a quota.
    holding: int
    #: Every such group's subtotal, by name, where they are :data:`GROUPS_LISTED` at most.
    all: list[Group] | None
    by: str
    nodes: dict[int, UnitNode]

    def of(self, shown: Sequence[Line], rule: CountingRule) -> list[Group]:
        """The subtotals of the groups of the ``shown`` lines, by name: each of all its
        lines, on the page or not."""
        keys = {_group_key(line, self.by, self.nodes) for line in shown}
        return _subtotals(self, keys, rule)


def _group_key(line: Line, by: str, nodes: dict[int, UnitNode]) -> str:
    """The group of a line: its parent's id, "" where its parent is not in the plan's
    tree; or its kind."""
    if by == "parent":
        parent = line.unit.parent_id
        return str(parent) if parent is not None and parent in nodes else ""
    return line.unit.kind


def _grouped(
    lines: list[Line], nodes: dict[int, UnitNode], by: str, rule: CountingRule
) -> _Grouped:
    """``lines`` by parent or by kind (``by``); every group's subtotal too, where no more
    than :data:`GROUPS_LISTED` hold a quota (else each page adds up its own: ``of``)."""
    grouped: dict[str, list[Line]] = {}
    for line in lines:
        key = _group_key(line, by, nodes)
        if key in grouped:
            grouped[key].append(line)
        else:
            grouped[key] = [line]
    names = {key: nodes[int(key)].name if by == "parent" and key else "" for key in grouped}
    holding = [key for key, of_key in grouped.items() if any(ln.is_holder for ln in of_key)]
    made = _Grouped(grouped, names, len(holding), None, by, nodes)
    if len(holding) <= GROUPS_LISTED:
        return made._replace(all=_subtotals(made, holding, rule))
    return made


def _subtotals(grouped: _Grouped, keys: Iterable[str], rule: CountingRule) -> list[Group]:
    """The subtotals of the groups ``keys`` that hold a quota, by name."""
    names = grouped.names
    # A kind has no name here (the page names it), nor the group of lines whose parent is
    # not in the tree: they go by their key.
    made = [Group(key, names[key], totals(grouped.lines[key], rule)) for key in keys]
    made.sort(key=lambda group: sort_key(group.name or group.key))
    return [group for group in made if group.totals.holders]


@dataclass(frozen=True)
class ResultRow:
    result: Result
    collected: Fraction
    counts: bool


@dataclass(frozen=True)
class DriveResults:
    drive: Drive
    rows: list[ResultRow]
    #: Counted (submitted and approved) results of the drive added up.
    tally: Tally
    collected: Fraction


#: Results a unit's page lists one by one, drive by drive. A unit with more in its subtree
#: (a district, a province, the nation: half a million) shows each drive's totals instead,
#: and its units below list their own.
RESULTS_LISTED = 500
#: Units directly under a unit its page names, at most (then how many more there are).
CHILDREN_LISTED = 200


@dataclass(frozen=True)
class UnitPage:
    line: Line | None
    #: Quota lines below the unit, in tree order: those of the page shown.
    below: Sequence[Line]
    #: The units directly under it, by name (:data:`CHILDREN_LISTED` at most), and how many
    #: there are in all.
    children: list[UnitNode]
    children_count: int
    drives: list[DriveResults]
    #: Results reported in the unit's subtree, in every state; each is listed only where
    #: they are :data:`RESULTS_LISTED` at most, else each drive gives its totals.
    reports: int
    page: int = 1
    pages: int = 1
    page_size: int = PAGE_SIZE

    @property
    def listed(self) -> bool:
        return self.reports <= RESULTS_LISTED


def unit_page(
    plan: Plan,
    unit_id: int,
    summary: PlanSummary,
    units: Sequence[UnitNode],
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> UnitPage:
    """A unit in a plan: its line, a page of the quota lines below it, the units directly
    under it, and its subtree's results drive by drive. However large the subtree, the page
    holds a bounded number of each."""
    tree = UnitTree.of(units)
    under = subtree(tree, unit_id)
    line = next((ln for ln in summary.lines if ln.unit.id == unit_id), None)
    below = [ln for ln in summary.lines if ln.unit.id in under and ln.unit.id != unit_id]
    pages = _pages(len(below), page_size)
    page = min(page, pages)
    children = [tree.nodes[kid] for kid in tree.children.get(unit_id, ())]
    named = heapq.nsmallest(CHILDREN_LISTED, children, key=lambda n: sort_key(n.name))
    reports, drives = _subtree_results(plan, under, summary)
    return UnitPage(
        line, page_of(below, page, page_size), named, len(children), drives, reports,
        page, pages, page_size,
    )  # fmt: skip


def _subtree_results(
    plan: Plan, under: AbstractSet[int], summary: PlanSummary
) -> tuple[int, list[DriveResults]]:
    """How many results the units ``under`` (the unit's subtree, as the plan reads it)
    reported in the plan tree's drives, and those results drive by drive: each drive's
    counted ones added up by the database, and each result listed if they are few. The
    counted ones add up to the unit's line."""
    in_plan = Result.drive_id.in_(
        select(Drive.id).where(Drive.plan_id.in_(plan_and_descendants(plan.id)))
    )
    parts = [(in_plan, units) for units in results_of(under)]
    reports = 0
    tallies: dict[int, Tally] = {}
    for part in parts:
        for drive_id, n, tally in tallies_by_drive(part):
            reports += n
            tallies[drive_id] = tallies[drive_id] + tally if drive_id in tallies else tally
    rows: dict[Drive, list[Result]] = {}
    if reports > RESULTS_LISTED:
        drives = db.session.scalars(select(Drive).where(Drive.id.in_(tallies))).all()
    else:
        for part in parts if reports else []:
            both = joinedload(Result.drive), joinedload(Result.unit)
            for r in db.session.scalars(select(Result).where(*part).options(*both)):
                rows.setdefault(r.drive, []).append(r)
        drives = list(rows)
    rule = summary.rule
    return reports, [
        DriveResults(
            d, _result_rows(rows.get(d, []), rule), tallies[d.id], tallies[d.id].collected(rule)
        )
        for d in sorted(drives, key=lambda d: (d.starts_on, d.id))
    ]


def _result_rows(results: Sequence[Result], rule: CountingRule) -> list[ResultRow]:
    """A drive's results by unit name, each with its blood units and whether it counts."""
    return [
        ResultRow(r, blood_units(r.bags, rule), r.state in COUNTED_STATES)
        for r in sorted(results, key=lambda r: sort_key(r.unit.name))
    ]


@dataclass(frozen=True)
class Outlook:
    """What a reporter reads beside the result form: the unit's quota in the drive's plan
    and what counts for it already, this drive's report left out, so the page can add
    what is being typed."""

    rule: CountingRule
    #: The unit's own quota in the plan; ``None`` when it holds none.
    quota: int | None
    #: Counted blood units of the unit's subtree in the plan, without this drive's report.
    others: Fraction

    @property
    def rate_now(self) -> Fraction | None:
        return completion_rate(self.others, self.quota)

    def rate_with(self, bags: Bags) -> Fraction | None:
        """The rate once ``bags`` count too."""
        return completion_rate(self.others + blood_units(bags, self.rule), self.quota)


def report_outlook(drive: Drive, unit_id: int, result: Result | None) -> Outlook:
    summary = plan_summary(drive.plan)
    line = next((ln for ln in summary.lines if ln.unit.id == unit_id), None)
    if line is None:
        return Outlook(summary.rule, None, Fraction(0))
    own = blood_units(result.bags, summary.rule) if result and result.state in COUNTED_STATES else 0
    return Outlook(summary.rule, line.quota if line.is_holder else None, line.collected - own)


def drives_reporting(plan: Plan, within: Select[tuple[int]], today: date) -> list[DriveTotals]:
    """Each drive of the plan: the reports expected from the units ``within``, received,
    on time, late and overdue."""
    return drives_totals(plan.drives, within, today)


def drive_to_chase(drives: Sequence[Drive], today: date) -> Drive | None:
    """The drive whose missing reports matter now: the latest one that has begun, else
    the first to come."""
    begun = [d for d in drives if d.starts_on <= today]
    if begun:
        return max(begun, key=lambda d: (d.starts_on, d.id))
    return min(drives, key=lambda d: (d.starts_on, d.id), default=None)
