"""The rules every figure follows (DOMAIN.md), as pure functions.

No Flask and no database here: callers hand in plain rows and get plain
values back, so the dashboard, the Excel export and the API cannot disagree.
Arithmetic is exact (``Fraction``); rounding happens once, for display, in
:func:`display_percent` and :func:`display_units`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cached_property, lru_cache
from operator import attrgetter
from typing import NamedTuple, TypeGuard

ONE_DECIMAL = Decimal("0.1")
#: What a rate that must not read as exactly 100 % shows instead.
JUST_BELOW_FULL = Decimal("99.9")
JUST_ABOVE_FULL = Decimal("100.1")


class CountingRule(StrEnum):
    """How a plan turns bags into blood units (Thông tư 17/2020/TT-BYT)."""

    #: Every successful donation is one unit, whatever the bag size.
    BAG = "bag"
    #: Units are total millilitres / 250 ("quy đổi"): 350 ml = 1,4 and 450 ml = 1,8.
    ML250 = "ml250"


class Status(StrEnum):
    NO_QUOTA = "no_quota"
    NOT_REPORTED = "not_reported"
    BELOW = "below"
    MET = "met"
    OVER = "over"

    @property
    def completed(self) -> bool:
        """Met or over: the unit "hoàn thành chỉ tiêu"."""
        return self in (Status.MET, Status.OVER)


class Bags(NamedTuple):
    """Successful donations by bag size.

    Bags, Tally and UnitNode are named tuples, not dataclasses: a province's
    summary makes tens of thousands of them and tuples are several times cheaper.
    """

    ml250: int = 0
    ml350: int = 0
    ml450: int = 0

    def __add__(self, other: Bags) -> Bags:  # type: ignore[override]
        return Bags(self.ml250 + other.ml250, self.ml350 + other.ml350, self.ml450 + other.ml450)

    @property
    def donations(self) -> int:
        return self.ml250 + self.ml350 + self.ml450

    @property
    def millilitres(self) -> int:
        return 250 * self.ml250 + 350 * self.ml350 + 450 * self.ml450


def blood_units(bags: Bags, rule: CountingRule) -> Fraction:
    """The counted figure, always derived from the bag counts, never typed."""
    if rule is CountingRule.BAG:
        return _whole(bags.ml250 + bags.ml350 + bags.ml450)
    return _quarter_litres(250 * bags.ml250 + 350 * bags.ml350 + 450 * bags.ml450)


# Fractions are immutable and a plan's figures repeat: a national summary makes a hundred
# thousand of them, and reducing each one anew was a fifth of its time.
@lru_cache(maxsize=8192)
def _whole(units: int) -> Fraction:
    return Fraction(units)


@lru_cache(maxsize=8192)
def _quarter_litres(millilitres: int) -> Fraction:
    return Fraction(millilitres, 250)


class Tally(NamedTuple):
    """Counted results added up: for one unit, a subtree, or a group."""

    #: How many counted results (submitted or approved) went into the tally.
    reports: int = 0
    registered: int = 0
    deferred: int = 0
    bags: Bags = Bags()
    #: Repeat donors, over the results that counted them,
    repeat_donors: int = 0
    #: and the donations of those results: the base of the repeat donors' share.
    repeat_base: int = 0

    def __add__(self, other: Tally) -> Tally:  # type: ignore[override]
        return Tally(
            self.reports + other.reports,
            self.registered + other.registered,
            self.deferred + other.deferred,
            self.bags + other.bags,
            self.repeat_donors + other.repeat_donors,
            self.repeat_base + other.repeat_base,
        )

    @property
    def donors(self) -> int:
        return self.bags.donations

    @property
    def large_bag_share(self) -> Fraction | None:
        """(bags 350 + bags 450) / donations; ``None`` without a donation."""
        return _share(self.bags.ml350 + self.bags.ml450, self.bags.donations)

    @property
    def repeat_share(self) -> Fraction | None:
        """Repeat donors / donations, over the results that counted repeat donors only;
        ``None`` when none did."""
        return _share(self.repeat_donors, self.repeat_base)

    def participation_share(self, headcount: int | None) -> Fraction | None:
        """Donations / headcount; ``None`` without a headcount."""
        return _share(self.bags.donations, headcount)

    def collected(self, rule: CountingRule) -> Fraction:
        return blood_units(self.bags, rule)


EMPTY = Tally()

#: A tally as plain integers, in the order of :class:`Tally`'s fields with the bags spread:
#: reports, registered, deferred, bags 250, 350 and 450, repeat donors, repeat base.
Flat = tuple[int, ...]


class FlatTallies(Mapping[int, Tally]):
    """Unit id -> tally, kept as :data:`Flat` tuples as the database adds them up.

    A national plan reads a hundred thousand units' tallies: the roll-up adds the tuples
    as they are, and a :class:`Tally` is built only for a unit someone looks at."""

    __slots__ = ("flats",)

    def __init__(self, flats: dict[int, Flat]) -> None:
        self.flats = flats

    def __getitem__(self, unit_id: int) -> Tally:
        return _tally(self.flats[unit_id])

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self.flats

    def __iter__(self) -> Iterator[int]:
        return iter(self.flats)

    def __len__(self) -> int:
        return len(self.flats)


def result_tally(registered: int, deferred: int, bags: Bags, repeat_donors: int | None) -> Tally:
    """One counted result as a tally; its donations are the repeat share's base only if
    the unit counted its repeat donors."""
    if repeat_donors is None:
        return Tally(1, registered, deferred, bags)
    return Tally(1, registered, deferred, bags, repeat_donors, bags.donations)


def result_flat(
    registered: int, deferred: int, bags: Bags, repeat_donors: int | None, sign: int = 1
) -> Flat:
    """:func:`result_tally` as a :data:`Flat`, each figure times ``sign``: a result written
    (+1) or taken back (-1), to add to the tallies a summary was made from."""
    return tuple(sign * n for n in _flat(result_tally(registered, deferred, bags, repeat_donors)))


def _share(part: int, whole: int | None) -> Fraction | None:
    return Fraction(part, whole) if whole else None


class Target(StrEnum):
    """A plan's targets beyond blood units (DOMAIN.md), as the API names them."""

    LARGE_BAG = "large_bag"
    REPEAT = "repeat"
    PARTICIPATION = "participation"


class Targets(NamedTuple):
    """The least share, in whole percent, a plan asks of each quota holder; ``None``: no target."""

    large_bag: int | None = None
    repeat: int | None = None
    participation: int | None = None

    def set(self) -> list[Target]:
        """The targets the plan sets, in a fixed order."""
        return [Target(name) for name, value in self._asdict().items() if value is not None]

    def of(self, target: str) -> int | None:
        return getattr(self, Target(target).value)


NO_TARGETS = Targets()


class Shares(NamedTuple):
    """A unit's (or a total's) figures the targets judge, as exact fractions."""

    large_bag: Fraction | None
    repeat: Fraction | None
    participation: Fraction | None

    def of(self, target: str) -> Fraction | None:
        return getattr(self, Target(target).value)

    def missed(self, targets: Targets) -> list[Target]:
        """The targets set whose share is known and below them: 69,96 % misses 70 %."""
        return [
            Target(name)
            for name, share, least in zip(self._fields, self, targets, strict=True)
            if least is not None and share is not None and share * 100 < least
        ]

    def percents(self, targets: Targets) -> dict[Target, Decimal | None]:
        """Each share for display, never reaching a target it misses (see
        :func:`display_share`)."""
        return {
            Target(name): display_share(share, least)
            for name, share, least in zip(self._fields, self, targets, strict=True)
        }


def display_share(share: Fraction | None, target: int | None = None) -> Decimal | None:
    """A share as a percentage with one decimal, as :func:`display_percent` shows it, and
    never at or above a ``target`` (whole percent) it is below: 69,96 % against 70 % is 69,9."""
    shown = display_percent(share)
    if share is None or shown is None or target is None:
        return shown
    if share * 100 < target and shown >= target:
        return Decimal(target) - ONE_DECIMAL
    return shown


def has_quota(quota: int | None) -> TypeGuard[int]:
    return quota is not None and quota > 0


def completion_rate(collected: Fraction, quota: int | None) -> Fraction | None:
    """C / Q, or ``None`` for a unit without a quota (it has no rate)."""
    if not has_quota(quota):
        return None
    return Fraction(collected) / quota


def rough_rate(collected: Fraction, quota: int | None) -> float:
    """C / Q as a float, 0 without a quota: one division of integers, correctly rounded,
    so it never puts two rates the other way round (equal floats may hide a difference).
    For picking candidates among many lines before ordering them by the exact rate."""
    if not has_quota(quota):
        return 0.0
    return collected.numerator / (collected.denominator * quota)


def status(quota: int | None, collected: Fraction, reports: int) -> Status:
    """Decided from exact values; ``reports`` counts the subtree's counted results."""
    if not has_quota(quota):
        return Status.NO_QUOTA
    if reports == 0:
        return Status.NOT_REPORTED
    # Compared as integers: C = n / d against Q, without Fraction's generic comparison.
    if type(collected) is not Fraction:
        collected = Fraction(collected)
    wanted = quota * collected.denominator
    if collected.numerator < wanted:
        return Status.BELOW
    if collected.numerator == wanted:
        return Status.MET
    return Status.OVER


def over_amount(collected: Fraction, quota: int | None) -> Fraction:
    """C − Q when positive, else 0 (also 0 without a quota)."""
    if not has_quota(quota):
        return Fraction(0)
    return max(Fraction(collected) - quota, Fraction(0))


def over_rate(collected: Fraction, quota: int | None) -> Fraction:
    """R − 1 when positive, else 0."""
    rate = completion_rate(collected, quota)
    if rate is None:
        return Fraction(0)
    return max(rate - 1, Fraction(0))


def display_percent(rate: Fraction | None) -> Decimal | None:
    """A rate as a percentage with one decimal, as every screen shows it.

    Rounds half up, except that a rate below 1 never shows 100.0 (1.999 of
    2.000 is 99.9, not 100.0) and a rate above 1 never shows 100.0 either:
    the number must not contradict the status beside it.
    """
    if rate is None:
        return None
    shown = _round_one_decimal(rate * 100)
    if rate < 1 and shown >= 100:
        return JUST_BELOW_FULL
    if rate > 1 and shown <= 100:
        return JUST_ABOVE_FULL
    return shown


def display_units(units: Fraction) -> Decimal:
    """Blood units for display: whole numbers as they are, else one decimal."""
    if units.denominator == 1:
        return Decimal(units.numerator)
    return _round_one_decimal(units)


def _round_one_decimal(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


# --- A plan's summary -------------------------------------------------------


class UnitNode(NamedTuple):
    """A unit as the roll-up needs it."""

    id: int
    parent_id: int | None
    code: str
    name: str
    kind: str


class UnitTree(tuple[UnitNode, ...]):
    """Units, and the shape of their tree (each unit's children in the units' order, a
    walk with parents first, each unit's depth), worked out when first asked for.

    A tree that several summaries read (``services.kept`` keeps a national one) is
    walked once, not at every summary. Immutable: it is shared."""

    @classmethod
    def of(cls, units: Iterable[UnitNode]) -> UnitTree:
        """``units`` as a tree: the very tree if they are one (its shape kept with it)."""
        return units if isinstance(units, UnitTree) else cls(units)

    @cached_property
    def nodes(self) -> dict[int, UnitNode]:
        return {u.id: u for u in self}

    @cached_property
    def children(self) -> dict[int | None, list[int]]:
        """:func:`_children` of the units."""
        return _children(self.nodes)

    @cached_property
    def walk(self) -> tuple[list[int], dict[int, int]]:
        """:func:`_walk` of the units."""
        return _walk(self.nodes, self.children)


class Line(NamedTuple):
    """One unit with a quota entry in the plan, with its subtree rolled up."""

    unit: UnitNode
    quota: int | None
    tally: Tally
    collected: Fraction
    status: Status
    #: Units above holding a quota in the same plan, the nearest last.
    holders_above: tuple[int, ...]
    #: Σ quotas of the nearest quota holders below, or ``None`` when there are none.
    allocated_below: int | None
    #: Depth in the tree handed to :func:`summarize` (its roots are 0).
    depth: int
    #: The staff, students or members the plan records for the unit, if any.
    headcount: int | None = None

    @property
    def shares(self) -> Shares:
        tally = self.tally
        return Shares(
            tally.large_bag_share, tally.repeat_share, tally.participation_share(self.headcount)
        )

    @property
    def holder_parent_id(self) -> int | None:
        """The nearest unit above holding a quota in the same plan, if any."""
        return self.holders_above[-1] if self.holders_above else None

    @property
    def is_holder(self) -> bool:
        return has_quota(self.quota)

    @property
    def rate(self) -> Fraction | None:
        return completion_rate(self.collected, self.quota)

    @property
    def rate_percent(self) -> Decimal | None:
        return display_percent(self.rate)

    @property
    def over_amount(self) -> Fraction:
        return over_amount(self.collected, self.quota)

    @property
    def over_rate(self) -> Fraction:
        return over_rate(self.collected, self.quota)

    @property
    def over_rate_percent(self) -> Decimal | None:
        """R − 1 for display; a unit over its quota never shows 0,0 % over."""
        if self.status is not Status.OVER:
            return None
        return max(display_percent(self.over_rate) or Decimal(0), ONE_DECIMAL)

    @property
    def allocation_gap(self) -> int | None:
        """Own quota minus what is allocated below; negative means over-allocated."""
        if self.allocated_below is None or self.quota is None:
            return None
        return self.quota - self.allocated_below


@dataclass(frozen=True)
class Totals:
    """Figures for a set of lines, counting nothing twice."""

    #: Σ Q and Σ C over the holders with no quota-holding ancestor in the set.
    quota: int
    collected: Fraction
    tally: Tally
    #: How many quota holders (at every depth), and how each stands.
    holders: int
    completed: int
    over: int
    not_reported: int
    #: Σ headcount and Σ donations over the holders with a headcount and none above them
    #: holding one: the participation of the whole, each person counted once.
    headcount: int = 0
    headcount_donations: int = 0

    @property
    def rate(self) -> Fraction | None:
        return completion_rate(self.collected, self.quota)

    @property
    def shares(self) -> Shares:
        return Shares(
            self.tally.large_bag_share,
            self.tally.repeat_share,
            _share(self.headcount_donations, self.headcount),
        )

    @property
    def rate_percent(self) -> Decimal | None:
        return display_percent(self.rate)

    @property
    def completed_share(self) -> Fraction | None:
        return Fraction(self.completed, self.holders) if self.holders else None

    @property
    def completed_percent(self) -> Decimal | None:
        return display_percent(self.completed_share)


@dataclass(frozen=True)
class OutsideLine:
    """A unit whose counted results fall under no quota holder: shown apart."""

    unit: UnitNode
    tally: Tally
    collected: Fraction


@dataclass(frozen=True)
class PlanSummary:
    rule: CountingRule
    lines: list[Line]
    totals: Totals
    outside: list[OutsideLine]

    @cached_property
    def tops(self) -> list[Line]:
        """The quota holders with no holder above them: what the totals add up, and what
        each page of a comparison compares besides its own lines (worked out once)."""
        return _tops(self.lines)

    @property
    def collected_outside(self) -> Fraction:
        return sum((o.collected for o in self.outside), Fraction(0))

    @property
    def tally_outside(self) -> Tally:
        return sum((o.tally for o in self.outside), EMPTY)


def totals(lines: Iterable[Line], rule: CountingRule) -> Totals:
    """Totals of any set of lines: the whole plan, or one group for a subtotal.

    Σ Q and Σ C take only the holders with no holder above them in the set, so
    a commune and a union under it are never both added, however far apart.
    """
    holders = _holders(lines)
    tops = _tops_of(holders)
    tally = _sum_tallies(map(_TALLY, tops))
    statuses = Counter(map(_STATUS, holders))
    counted = _tops_of([line for line in holders if line.headcount])
    return Totals(
        quota=sum(map(_QUOTA, tops)),
        collected=tally.collected(rule),
        tally=tally,
        holders=len(holders),
        completed=sum(n for s, n in statuses.items() if s.completed),
        over=statuses[Status.OVER],
        not_reported=statuses[Status.NOT_REPORTED],
        headcount=sum(map(_HEADCOUNT, counted)),
        headcount_donations=sum(line.tally.donors for line in counted),
    )


_TALLY, _STATUS, _QUOTA, _HEADCOUNT = (
    attrgetter(field) for field in ("tally", "status", "quota", "headcount")
)


def _holders(lines: Iterable[Line]) -> list[Line]:
    return [line for line in lines if has_quota(line.quota)]


def _tops_of(holders: list[Line]) -> list[Line]:
    """Of ``holders``, those with no holder above them among ``holders``: what totals add
    up. A holder with no holder above it at all needs no look into the set."""
    ids = {line.unit.id for line in holders}
    return [line for line in holders if not (above := line.holders_above) or ids.isdisjoint(above)]


def summarize(
    units: Iterable[UnitNode],
    quotas: Mapping[int, int],
    tallies: Mapping[int, Tally],
    rule: CountingRule,
    headcounts: Mapping[int, int] | None = None,
) -> PlanSummary:
    """Roll a plan's counted results up its unit tree and judge every quota.

    ``units`` must hold every unit that has a quota or a tally, and their
    ancestors up to the plan's issuer (further ancestors do no harm); a
    :class:`UnitTree` brings its shape worked out already;
    ``quotas`` maps unit id to its quota in the plan (0 allowed);
    ``tallies`` maps unit id to the counted results that unit reported itself;
    ``headcounts`` maps a quota holder's id to the headcount the plan records for it.
    """
    headcounts = headcounts or {}
    tree = UnitTree.of(units)
    nodes = tree.nodes
    missing = (quotas.keys() | tallies.keys()) - nodes.keys()
    if missing:
        raise ValueError(f"units missing from the tree: {sorted(missing)}")
    holding = {uid for uid, amount in quotas.items() if has_quota(amount)}
    order, depth = tree.walk
    holders_above = _holders_above(order, nodes, holding)

    # One pass from the leaves up (a national plan has a hundred thousand holders): each
    # unit's results join its parent's, and by the time a unit comes, everything below it
    # has, so its line can be judged; what the holders below it were allocated too.
    sums = _flats(tallies)
    allocated: dict[int, int] = {}
    lines = []
    for uid in reversed(order):
        own = sums.get(uid)
        parent = nodes[uid].parent_id
        if own is not None and parent in depth:
            above = sums.get(parent)
            sums[parent] = own if above is None else add_flat(above, own)
        quota = quotas.get(uid)
        if quota is None:
            continue
        holders = holders_above[uid]
        if holders and uid in holding:
            nearest = holders[-1]
            allocated[nearest] = allocated.get(nearest, 0) + quota
        tally = EMPTY if own is None else _tally(own)
        collected = blood_units(tally.bags, rule)
        # The fields in Line's order.
        lines.append(
            _new(
                Line,
                (
                    nodes[uid],
                    quota,
                    tally,
                    collected,
                    status(quota, collected, tally.reports),
                    holders,
                    allocated.get(uid),
                    depth[uid],
                    headcounts.get(uid),
                ),
            )
        )
    lines.reverse()
    outside = [
        OutsideLine(nodes[uid], tallies[uid], tallies[uid].collected(rule))
        for uid in order
        if not holders_above[uid]  # first: it rules out nearly every unit at once
        and uid in tallies
        and tallies[uid].reports
        and not has_quota(quotas.get(uid))
    ]
    return PlanSummary(rule, lines, totals(lines, rule), outside)


def brought_up(
    summary: PlanSummary,
    nodes: Mapping[int, UnitNode],
    positions: Mapping[int, int],
    tallies: Mapping[int, Tally],
    changes: Mapping[int, Flat],
) -> PlanSummary | None:
    """``summary`` after the units of ``changes`` reported more or less: what
    :func:`summarize` makes with ``tallies``, from a summary made with each of those units'
    own tally less its change (a :data:`Flat` of signed sums).

    ``nodes`` is the summary's tree by id and ``positions`` each quota holder's place in
    ``summary.lines``; ``tallies`` are the own tallies after the change. Each change goes
    to the line of its unit and of every unit above it, and those lines are judged again
    (the other lines and the tree are the same objects); the totals are added up again.
    None when a unit comes to be counted apart that was not: the caller makes the
    summary anew (the list apart is in tree order, which is not kept)."""
    rule = summary.rule
    rolled: dict[int, Flat] = {}
    for uid, change in changes.items():
        above: int | None = uid
        while above is not None and above in nodes:
            rolled[above] = add_flat(rolled[above], change) if above in rolled else change
            above = nodes[above].parent_id
    lines = list(summary.lines)
    for uid, change in rolled.items():
        at = positions.get(uid)
        if at is None:
            continue
        line = lines[at]
        tally = _tally(add_flat(_flat(line.tally), change))
        collected = blood_units(tally.bags, rule)
        lines[at] = line._replace(
            tally=tally, collected=collected, status=status(line.quota, collected, tally.reports)
        )
    outside = {o.unit.id: o for o in summary.outside}
    for uid in changes:
        own = tallies.get(uid, EMPTY)
        apart = (
            own.reports > 0
            and not _holds_quota(lines, positions, uid)
            and not any(_holds_quota(lines, positions, a) for a in _ancestors(nodes, uid))
        )
        if apart and uid not in outside:
            return None
        if apart:
            outside[uid] = OutsideLine(nodes[uid], own, own.collected(rule))
        else:
            outside.pop(uid, None)
    return PlanSummary(rule, lines, totals(lines, rule), list(outside.values()))


def requoted(
    summary: PlanSummary,
    positions: Mapping[int, int],
    quotas: Mapping[int, int],
    headcounts: Mapping[int, int],
) -> PlanSummary | None:
    """``summary`` with its quota entries' amounts and headcounts as ``quotas`` and
    ``headcounts`` now give them: what :func:`summarize` makes with them, where only those
    changed. ``positions`` is each entry's place in ``summary.lines``.

    Each changed line is judged again, and what is allocated to the nearest holder above
    it follows its quota; the totals are added up again. None where the entries are not
    the same units, or where a unit starts or stops holding a quota: then the holders
    above each unit, who is counted apart and the totals' tops change, and the caller
    summarizes again."""
    if len(quotas) != len(positions) or not quotas.keys() <= positions.keys():
        return None
    lines = list(summary.lines)
    changed = False
    for uid, quota in quotas.items():
        at = positions[uid]
        line = lines[at]
        headcount = headcounts.get(uid)
        if line.quota == quota and line.headcount == headcount:
            continue
        if has_quota(line.quota) != has_quota(quota):
            return None
        changed = True
        lines[at] = line._replace(
            quota=quota,
            status=status(quota, line.collected, line.tally.reports),
            headcount=headcount,
        )
        if has_quota(quota) and line.holders_above and quota != line.quota:
            above = positions[line.holders_above[-1]]
            holder = lines[above]
            allocated = (holder.allocated_below or 0) + quota - (line.quota or 0)
            lines[above] = holder._replace(allocated_below=allocated)
    if not changed:
        return summary
    return PlanSummary(summary.rule, lines, totals(lines, summary.rule), summary.outside)


def _holds_quota(lines: Sequence[Line], positions: Mapping[int, int], uid: int) -> bool:
    at = positions.get(uid)
    return at is not None and has_quota(lines[at].quota)


def _ancestors(nodes: Mapping[int, UnitNode], uid: int) -> Iterator[int]:
    """The units above ``uid`` among ``nodes``, nearest first."""
    above = nodes[uid].parent_id
    while above is not None and above in nodes:
        yield above
        above = nodes[above].parent_id


def _rolled_flats(
    nodes: Mapping[int, UnitNode], order: list[int], tallies: Mapping[int, Tally]
) -> dict[int, Flat]:
    """The tallies of every unit, each plus those of all units below it, as :data:`Flat`
    tuples: the sums run children before parents on plain integers."""
    sums = _flats(tallies)
    for uid in reversed(order):
        own = sums.get(uid)
        if own is None:
            continue
        parent = nodes[uid].parent_id
        if parent is None or parent not in nodes:
            continue
        above = sums.get(parent)
        sums[parent] = own if above is None else add_flat(above, own)
    return sums


def _flats(tallies: Mapping[int, Tally]) -> dict[int, Flat]:
    """A new dict of the tallies as :data:`Flat` tuples, for a roll-up to add to."""
    if isinstance(tallies, FlatTallies):
        return dict(tallies.flats)
    return {uid: _flat(t) for uid, t in tallies.items()}


def _flat(t: Tally) -> tuple[int, ...]:
    return (t.reports, t.registered, t.deferred, *t.bags, t.repeat_donors, t.repeat_base)


def _tally(flat: tuple[int, ...]) -> Tally:
    n, reg, dfr, a, b, c, repeat, base = flat
    return _new(Tally, (n, reg, dfr, _new(Bags, (a, b, c)), repeat, base))


#: A named tuple made from its fields in order, without the Python-level ``__new__`` the
#: class generates: the roll-up makes one Tally, Bags and Line per quota holder, a hundred
#: thousand for a national plan.
_new = tuple.__new__


def add_flat(x: tuple[int, ...], y: tuple[int, ...]) -> tuple[int, ...]:
    """Two :data:`Flat` tallies added up."""
    return (
        x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3],
        x[4] + y[4], x[5] + y[5], x[6] + y[6], x[7] + y[7],
    )  # fmt: skip


def _sum_tallies(tallies: Iterable[Tally]) -> Tally:
    """Σ of many tallies, field by field (``sum`` would build a Tally per step, and a
    national plan's subtotals add up a hundred thousand)."""
    fields = list(zip(*tallies, strict=True))
    if not fields:
        return EMPTY
    reports, registered, deferred, bags, repeat_donors, repeat_base = fields
    sizes = (sum(size) for size in zip(*bags, strict=True))
    return _new(
        Tally,
        (
            sum(reports), sum(registered), sum(deferred), _new(Bags, tuple(sizes)),
            sum(repeat_donors), sum(repeat_base),
        ),
    )  # fmt: skip


def _walk(
    nodes: Mapping[int, UnitNode], children: Mapping[int | None, list[int]]
) -> tuple[list[int], dict[int, int]]:
    """Ids with every parent before its children, siblings in their given order, and each
    unit's depth (0 for a unit whose parent is not among ``nodes``); ``children`` is
    :func:`_children` of ``nodes``."""
    roots = children.get(None, [])
    depth = dict.fromkeys(roots, 0)
    order: list[int] = []
    stack = roots[::-1]
    while stack:
        uid = stack.pop()
        order.append(uid)
        kids = children.get(uid)
        if kids:
            level = depth[uid] + 1
            for kid in kids:
                depth[kid] = level
            stack.extend(reversed(kids))
    return _all_reached(order, nodes), depth


def _holders_above(
    order: list[int], nodes: Mapping[int, UnitNode], holding: Container[int]
) -> dict[int, tuple[int, ...]]:
    """Each unit's ``holding`` ancestors, the nearest last, in one pass down ``order``."""
    above: dict[int, tuple[int, ...]] = {}
    #: What a unit passes to its children: what is above it, and itself if it holds.
    passed: dict[int | None, tuple[int, ...]] = {}
    for uid in order:
        mine = passed.get(nodes[uid].parent_id, ())
        above[uid] = mine
        passed[uid] = (*mine, uid) if uid in holding else mine
    return above


def _children(nodes: Mapping[int, UnitNode]) -> dict[int | None, list[int]]:
    """Parent id -> its children's ids in their given order; ``None`` -> the roots (units
    whose parent is not among ``nodes``)."""
    children: dict[int | None, list[int]] = {}
    for node in nodes.values():
        parent = node.parent_id if node.parent_id in nodes else None
        if parent in children:
            children[parent].append(node.id)
        else:
            children[parent] = [node.id]
    return children


def _all_reached(order: list[int], nodes: Mapping[int, UnitNode]) -> list[int]:
    """``order``, once it is known to hold every unit: a unit a walk from the roots never
    reaches lies on a cycle."""
    if len(order) != len(nodes):
        raise ValueError("the unit tree has a cycle")
    return order


# --- Progress through the year ----------------------------------------------------


class MonthPoint(NamedTuple):
    """One month of a plan's year: what was collected in it and by its end, against the
    even pace (the quota spread evenly over twelve months)."""

    month: int
    collected: Fraction
    cumulative: Fraction
    pace: Fraction


def progress(
    units: Iterable[UnitNode],
    quotas: Mapping[int, int],
    monthly: Mapping[int, Mapping[int, Bags]],
    rule: CountingRule,
    quota: int,
    months: int,
    within: int | None = None,
) -> list[MonthPoint]:
    """Months 1 to ``months`` of a plan's year, cumulated.

    ``monthly`` maps a month (1-12) to the bags each unit reported itself in the drives
    ending that month. What counts is what the summary counts: for the whole plan
    (``within`` is ``None``) the units at or under a quota holder; for one unit, its
    subtree. So the last month's cumulative figure is the summary's collected figure.
    """
    tree = UnitTree.of(units)
    nodes = tree.nodes
    if within is not None:
        counted: AbstractSet[int] = subtree(tree, within)
    else:
        counted = _covered(nodes, quotas, {uid for by_unit in monthly.values() for uid in by_unit})
    points: list[MonthPoint] = []
    cumulative = Fraction(0)
    for month in range(1, months + 1):
        bags = Bags()
        for uid, reported in monthly.get(month, {}).items():
            if uid in counted:
                bags = bags + reported
        collected = blood_units(bags, rule)
        cumulative += collected
        points.append(MonthPoint(month, collected, cumulative, Fraction(quota * month, 12)))
    return points


def _covered(nodes: Mapping[int, UnitNode], quotas: Mapping[int, int], among: set[int]) -> set[int]:
    """Of the units ``among``, those in the tree that are quota holders or lie under one:
    the units whose results count. Each walks up to a holder or past the top, and what a
    walk learns on its way serves the others (a national tree has a hundred thousand)."""
    known: dict[int, bool] = {}
    for start in among:
        path: dict[int, None] = {}
        uid, verdict = start, False
        while uid in nodes:
            if uid in known:
                verdict = known[uid]
                break
            if has_quota(quotas.get(uid)):
                verdict = known[uid] = True
                break
            if uid in path:
                raise ValueError("the unit tree has a cycle")
            path[uid] = None
            parent = nodes[uid].parent_id
            if parent is None:
                break
            uid = parent
        known.update(dict.fromkeys(path, verdict))
    return {uid for uid in among if known.get(uid)}


def subtree(tree: UnitTree, root: int) -> frozenset[int]:
    """``root`` and the units under it, from the tree's children (a kept tree's are worked
    out once): a district of a national tree is its 500 units, not 100.000 looked at.

    The last subtree asked of a tree is kept with it: a unit's page asks for its own three
    times (its months, its lines and results, its progress), and the nation's is 100.000
    units."""
    last = tree.__dict__.get("_last_subtree")
    if last is not None and last[0] == root:
        return last[1]
    found = {root}
    children = tree.children
    stack = [root]
    while stack:
        for kid in children.get(stack.pop(), ()):
            if kid not in found:  # (a tree has no cycle; this never loops if it had one)
                found.add(kid)
                stack.append(kid)
    under = frozenset(found)
    tree.__dict__["_last_subtree"] = (root, under)  # one tuple: a reader sees both or none
    return under


# --- Compared with an earlier plan ("so với cùng kỳ") --------------------------------


@dataclass(frozen=True)
class Comparison:
    """A plan's figures beside those of the plan it is compared with (usually the same
    issuer's plan of the year before)."""

    #: Unit id -> what the earlier plan counted for the unit and the units merged into
    #: it, or ``None`` when none of them was in the earlier plan's tree.
    previous: Mapping[int, Fraction | None]
    #: Σ of the previous figures of the lines the totals add up, ``None`` when none has one.
    total: Fraction | None
    #: Σ of what those same lines collect now: the figure the total is compared with, like
    #: for like (a plan whose new units have no predecessor compares only the others).
    total_now: Fraction | None = None
    #: The units compared, when not every line was (a page of a national plan); ``None``
    #: when every line was.
    among: frozenset[int] | None = None

    def of(self, unit_id: int) -> Fraction | None:
        """The unit's previous figure. Asking for a unit left out of a comparison made
        for some units only is a mistake, not "nothing to compare with": it raises."""
        if self.among is not None and unit_id not in self.among:
            raise KeyError(f"unit {unit_id} was not compared")
        return self.previous.get(unit_id)

    def totals_of(self, lines: Iterable[Line]) -> tuple[Fraction | None, Fraction | None]:
        """(collected now, previous) over the lines :func:`totals` adds up for ``lines``
        that have a previous figure; ``(None, None)`` when none has one."""
        return _compared_totals(_tops(lines), self.of)


NO_COMPARISON = Comparison({}, None)


class Earlier(NamedTuple):
    """An earlier plan rolled up over its tree (:func:`roll_up`): what any line of a plan
    compared with it needs, whatever the line."""

    #: The earlier plan's unit tree (as it stood on that plan's date), by id.
    nodes: Mapping[int, UnitNode]
    #: Each unit's counted results with those of every unit below it, as :data:`Flat`
    #: tuples; a unit that counted nothing, itself or below, is absent.
    rolled: Mapping[int, Flat]


def roll_up(before: Iterable[UnitNode], tallies: Mapping[int, Tally]) -> Earlier:
    """The earlier plan's tree ``before`` with the counted results its units reported
    themselves (``tallies``), each unit's subtree added up."""
    tree = UnitTree.of(before)
    nodes = tree.nodes
    return Earlier(nodes, _rolled_flats(nodes, tree.walk[0], tallies))


def compare(
    summary: PlanSummary,
    earlier: Earlier,
    rule: CountingRule,
    merged_into: Mapping[int, int],
    among: Collection[int] | None = None,
) -> Comparison:
    """Each quota line of ``summary`` beside what an earlier plan counted.

    ``earlier`` is the earlier plan rolled up over its unit tree as it stood on that
    plan's date (:func:`roll_up`; kept, it serves every page of a plan's lines), ``rule``
    its counting rule; ``merged_into`` maps a unit that ceased to the unit it was merged
    into. With ``among``, only the lines of those units are compared (a page of the
    lines), and the lines the totals add up: the totals are the same either way.

    A unit's previous figure is the earlier plan's collected figure (its subtree, by the
    earlier plan's rule) for the unit and for every unit merged into it, directly or
    through earlier mergers, each counted once: a predecessor lying under another one in
    the earlier tree is already in that one's figure.
    """
    nodes, rolled = earlier
    merged_from: dict[int, list[int]] = {}
    for old, new in merged_into.items():
        merged_from.setdefault(new, []).append(old)
    ids = [line.unit.id for line in summary.lines]
    tops = summary.tops
    if among is not None:
        wanted = _with_tops(among, tops)
        ids = [uid for uid in ids if uid in wanted]
    nothing = (0,) * 8
    previous: dict[int, Fraction | None] = {}
    for uid in ids:
        if uid in merged_from:  # the family of a line some unit was merged into
            family = _predecessors(uid, merged_from)
            counted = [v for v in family if v in nodes and not _has_ancestor_in(v, family, nodes)]
        else:  # no unit merged into it: nearly every line
            counted = [uid] if uid in nodes else []
        if not counted:
            previous[uid] = None
            continue
        flat = rolled.get(counted[0], nothing)
        for v in counted[1:]:
            flat = add_flat(flat, rolled.get(v, nothing))
        previous[uid] = blood_units(_new(Bags, flat[3:6]), rule)
    now, total = _compared_totals(tops, previous.get)
    return Comparison(previous, total, now, None if among is None else frozenset(among))


def _with_tops(among: Collection[int], tops: Iterable[Line]) -> set[int]:
    return set(among).union(line.unit.id for line in tops)


def _tops(lines: Iterable[Line]) -> list[Line]:
    """The quota holders with no holder above them among ``lines``: what totals add up."""
    return _tops_of(_holders(lines))


def _compared_totals(
    tops: Iterable[Line], previous: Callable[[int], Fraction | None]
) -> tuple[Fraction | None, Fraction | None]:
    """Σ now and Σ previous over the ``tops`` with a previous figure."""
    known: list[tuple[Fraction, Fraction]] = []
    for line in tops:
        figure = previous(line.unit.id)
        if figure is not None:
            known.append((line.collected, figure))
    if not known:
        return None, None
    return sum((c for c, _ in known), Fraction(0)), sum((p for _, p in known), Fraction(0))


def _predecessors(unit_id: int, merged_from: Mapping[int, list[int]]) -> set[int]:
    """The unit and every unit merged into it, however many mergers back."""
    found, stack = {unit_id}, [unit_id]
    while stack:
        for old in merged_from.get(stack.pop(), ()):
            if old not in found:
                found.add(old)
                stack.append(old)
    return found


def _has_ancestor_in(unit_id: int, family: set[int], nodes: Mapping[int, UnitNode]) -> bool:
    parent = nodes[unit_id].parent_id
    seen = {unit_id}
    while parent is not None and parent in nodes and parent not in seen:
        if parent in family:
            return True
        seen.add(parent)
        parent = nodes[parent].parent_id
    return False


def change(collected: Fraction | None, previous: Fraction | None) -> Fraction | None:
    """(C − previous) / previous, or ``None`` with nothing or zero to compare with."""
    if collected is None or previous is None or previous == 0:
        return None
    return (Fraction(collected) - previous) / previous


def display_change(rate: Fraction | None) -> Decimal | None:
    """A change as a percentage with one decimal whose sign never contradicts it: a rise
    of 0,04 % shows +0,1, not 0,0."""
    if rate is None:
        return None
    shown = _round_one_decimal(rate * 100)
    if rate > 0 and shown <= 0:
        return ONE_DECIMAL
    if rate < 0 and shown >= 0:
        return -ONE_DECIMAL
    return shown


# --- Reports on time ----------------------------------------------------------------

#: Days between a drive's last day and its report deadline, unless the organiser sets one.
DAYS_TO_REPORT = 3


def default_report_due(ends_on: date) -> date:
    """The deadline a drive gets when none is given: its last day + 3 days."""
    try:
        return ends_on + timedelta(days=DAYS_TO_REPORT)
    except OverflowError:  # a last day in the last days of year 9999
        return date.max


class Timeliness(StrEnum):
    #: Submitted on or before the deadline.
    ON_TIME = "on_time"
    #: Submitted after the deadline.
    LATE = "late"
    #: Not submitted, and the deadline has passed.
    OVERDUE = "overdue"
    #: Not submitted yet, and the deadline has not passed.
    NOT_DUE = "not_due"


class ReportTimeliness(NamedTuple):
    state: Timeliness
    #: Days after the deadline: of the submission when late, of today when overdue;
    #: ``None`` when on time or not due.
    days_late: int | None


def timeliness(due_on: date, submitted_on: date | None, today: date) -> ReportTimeliness:
    """A unit's report for a drive, judged against the deadline, in Vietnam days.

    ``submitted_on`` is the day of the submission that counts now (a report returned and
    sent again is judged by when it was sent again), ``None`` while nothing counts: a
    draft or a returned report is not a report received."""
    if submitted_on is not None:
        if submitted_on <= due_on:
            return ReportTimeliness(Timeliness.ON_TIME, None)
        return ReportTimeliness(Timeliness.LATE, (submitted_on - due_on).days)
    if today > due_on:
        return ReportTimeliness(Timeliness.OVERDUE, (today - due_on).days)
    return ReportTimeliness(Timeliness.NOT_DUE, None)


@dataclass(frozen=True)
class ReportingTotals:
    """How many reports a drive expects, and how they came."""

    expected: int
    received: int
    on_time: int
    late: int
    overdue: int
    not_due: int

    @property
    def rate(self) -> Fraction | None:
        """Reports received / reports expected; ``None`` when none is expected."""
        return Fraction(self.received, self.expected) if self.expected else None

    @property
    def on_time_rate(self) -> Fraction | None:
        """Reports on time / reports expected (DHIS2's "reporting rate on time")."""
        return Fraction(self.on_time, self.expected) if self.expected else None


def reporting_totals(states: Iterable[Timeliness]) -> ReportingTotals:
    """The totals of the expected units' states (one state per expected unit)."""
    counts = dict.fromkeys(Timeliness, 0)
    for state in states:
        counts[state] += 1
    on_time, late = counts[Timeliness.ON_TIME], counts[Timeliness.LATE]
    return ReportingTotals(
        expected=sum(counts.values()),
        received=on_time + late,
        on_time=on_time,
        late=late,
        overdue=counts[Timeliness.OVERDUE],
        not_due=counts[Timeliness.NOT_DUE],
    )
