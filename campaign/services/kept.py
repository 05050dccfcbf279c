"""What a summary makes, kept between requests under the stamp of what it was made from.

A national tree is a hundred thousand units, and a national plan's figures are made from
half a million results: made at each request, its dashboard took two seconds. The tree
changes seldom (a unit made, renamed, moved, closed); the figures change with each result,
quota, drive or plan written, and between two writes every reader gets the same. So both
are kept, each under the token it was made with:

- ``data_stamp.tree``, which the database's own triggers change in the transaction of
  every write to ``org_unit`` or ``unit_move``;
- ``data_stamp.figures``, which they change with those and every write to ``plan``,
  ``drive``, ``quota`` or ``result`` (see the migration ``data_stamp``).

A write of this transaction is seen at once; one committed by another transaction is seen
by the next statement, as every query of the summary sees it. The token is read before
what is made from it, so what is kept is never older than its token. Without a stamp row
nothing is kept.

The figures' stamp also counts its steps (``data_stamp.figures_seq``), and the triggers log
the result rows each step wrote (``figures_change``, see the migration ``figures_changes``).
A value kept at an earlier step is brought up to date with them, where its maker says how
(``bring``): a national plan's summary after one result saved is a few lines judged again,
not half a million results added up again. A value is brought only along steps that follow
each other from its own token, and only if the stamp stood still while it was made: so it
holds exactly the writes of its step, never one twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, NamedTuple, TypeVar, cast

from sqlalchemy import false, func, literal, select

from campaign.extensions import db
from campaign.models import DataStamp, FiguresChange

T = TypeVar("T")
D = TypeVar("D")

#: Values kept per process: the plans read most are a few (this year's and last year's, of
#: one or two issuers).
KEPT = 4
#: And units kept in all, at most: a national tree of 105.000 units, kept with its shape,
#: takes about 58 MB, so a process keeps two of them (a single larger tree is still kept).
UNITS_KEPT = 250_000

#: What is made from one kept value (a comparison, a dashboard page) and kept with it, at
#: most: it goes when that value goes.
DERIVED = 16

#: Seconds a request waits at most for a value another thread of its process is making
#: (a national reading takes two), before it makes the value itself.
MADE_WITHIN = 30.0

#: Steps a kept value is brought along at most, and result rows read for them: further
#: behind (an import), it is made again. The triggers keep 200 steps of at most 500 rows.
STEPS_BROUGHT = 100
ROWS_BROUGHT = 1_000

#: Where a value was kept: its token and its key.
Stamped = tuple[str, Hashable]


class Now(NamedTuple):
    """The stamp as this transaction sees it: its token and, for the figures, its step."""

    token: str
    seq: int


class Change(NamedTuple):
    """A result row as a step wrote it: as it was (``sign`` -1) or became (+1); or a unit
    added, or its code, name or kind changed (``state`` :data:`UNIT_ADDED` or
    :data:`UNIT_RENAMED`, its id in ``unit_id``, no drive); or, with
    ``unit_id`` None, a quota or a drive of the plan ``plan_id`` written (``state`` "quota"
    or "drive"), or that plan itself ("plan"), or a plan under it, before or after
    ("plan_parent")."""

    unit_id: int | None
    drive_id: int | None
    state: str
    sign: int
    registered: int
    deferred: int
    bags_250: int
    bags_350: int
    bags_450: int
    repeat_donors: int | None
    plan_id: int | None


#: The states a unit added, and a unit whose code, name or kind changed, are logged with
#: (migrations ``units_added_logged`` and ``units_renamed_logged``).
UNIT_ADDED = "unit"
UNIT_RENAMED = "unit_renamed"
#: What a step logs of a unit.
UNIT_WRITES = frozenset({UNIT_ADDED, UNIT_RENAMED})


#: How a kept value is brought up to date with the result rows written since it was made:
#: the value after them, or None when it must be made again.
Bring = Callable[[T, Sequence[Change]], T | None]


class _Entry(Generic[T]):
    __slots__ = ("value", "weight", "derived", "lasting", "seq")

    def __init__(self, value: T, weight: int, seq: int | None = None) -> None:
        self.value, self.weight, self.seq = value, weight, seq
        self.derived: OrderedDict[Hashable, object] = OrderedDict()
        #: The derived values made from their source alone, each with that source.
        self.lasting: dict[Hashable, object] = {}


class _Making(threading.Event):
    """A value being made, by the thread that makes it: set when it is done."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()


class Kept(Generic[T]):
    """The last ``size`` values made, each under the token of ``stamp`` it was made with,
    and no more than ``budget`` in all as ``weight`` counts them; with each, the last
    :data:`DERIVED` values made from it."""

    def __init__(
        self,
        stamp: str,
        weight: Callable[[T], int] = lambda value: 1,
        size: int = KEPT,
        budget: int = UNITS_KEPT,
    ) -> None:
        self._stamp = getattr(DataStamp, stamp), getattr(DataStamp, f"{stamp}_writer")
        self._steps = stamp == "figures"
        self._weight, self._size, self._budget = weight, size, budget
        self._values: OrderedDict[Stamped, _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()
        #: The values being made now, each with what tells when it is done.
        self._making: dict[Stamped, _Making] = {}

    def token(self) -> str | None:
        """The stamp's token (``tree`` or ``figures``) as this transaction sees it; None
        without a stamp row, and while this transaction has written what it stamps: on
        PostgreSQL the token changes with a transaction's first write only (see the
        migration), so what it made after a later write could not be told apart."""
        now = self.now()
        return None if now is None else now.token

    def now(self) -> Now | None:
        """:meth:`token`, with the figures' step (0 for the tree's stamp)."""
        token, writer = self._stamp
        seq = DataStamp.figures_seq if self._steps else literal(0)
        if db.session.get_bind().dialect.name == "postgresql":
            ours = writer == func.txid_current_if_assigned()
            query = select(token, seq, func.coalesce(ours, false()))
        else:  # SQLite's triggers give each row written a new token
            query = select(token, seq, false())
        row = db.session.execute(query.where(DataStamp.id == 1)).one_or_none()
        return None if row is None or row[2] else Now(str(row[0]), int(row[1]))

    def get(
        self,
        key: Hashable,
        make: Callable[[], T],
        instead: Hashable = None,
        bring: Bring[T] | None = None,
    ) -> T:
        """The value kept under ``key`` for the data as they stand, or one just made; a
        value kept under ``instead``, if there is one, serves as well. With ``bring``, a
        value kept at an earlier step of the figures is brought up to date with it
        rather than made again, where the steps since allow."""
        now = self.now()
        if now is None:
            return make()
        making = (now.token, key)
        mine: _Making | None = None
        for waited in (False, True):
            with self._lock:
                for stamped in ((now.token, instead), making):
                    if stamped in self._values:
                        self._values.move_to_end(stamped)
                        return self._values[stamped].value
                other = self._making.get(making)
                if other is None:
                    mine = self._making[making] = _Making()
                    break
                if waited or other.thread == threading.get_ident():
                    break  # still being made (or by this very thread): made here too
            # Being made by another thread of this process (a page's comparison while its
            # reading makes it alongside, two readers after one write): wait for it once,
            # rather than make it twice at once. A maker that fails, or keeps nothing,
            # leaves it to this one.
            other.wait(MADE_WITHIN)
        try:
            return self._made(now, key, make, instead, bring)
        finally:
            if mine is not None:
                with self._lock:
                    del self._making[making]
                mine.set()

    def _made(
        self,
        now: Now,
        key: Hashable,
        make: Callable[[], T],
        instead: Hashable,
        bring: Bring[T] | None,
    ) -> T:
        """:meth:`get`'s value when none is kept under this token: brought from an earlier
        step, or made."""
        if bring is not None and self._steps:
            brought = self._brought(now, key, instead, bring)
            if brought is not None:
                return brought
        value = make()  # outside the lock: a request of another process may make it too
        # Brought up to date later only if no step was taken while it was made: a step
        # committed between its queries would be in it, and would be added again.
        seq = now.seq if self._steps and self.now() == now else None
        self._keep(now.token, key, value, seq)
        return value

    def _brought(self, now: Now, key: Hashable, instead: Hashable, bring: Bring[T]) -> T | None:
        """The latest value kept under ``instead`` or ``key``, brought to the step ``now``;
        None where none can be. Two kept at one step (one made in a transaction rolled
        back, on SQLite) are tried the latest used first."""
        with self._lock:
            kept = [
                (stamped, entry)
                for stamped, entry in reversed(self._values.items())
                if stamped[1] in (instead, key)
                and entry.seq is not None
                and 0 < now.seq - entry.seq <= STEPS_BROUGHT
            ]
        kept.sort(key=lambda item: -(item[1].seq or 0))  # stable: the latest used first
        for (token, kept_key), entry in kept[:2]:
            changes = changes_since(token, entry.seq or 0, now)
            if changes is None:
                continue  # not from its token: try the other
            value = bring(entry.value, changes)
            if value is None:
                return None
            with self._lock:  # (another request may be deriving from it: read in turn)
                self._values.pop((token, kept_key), None)  # its data are gone
                lasting = _lasting(entry, value)
            self._keep(now.token, kept_key, value, now.seq, lasting)
            return value
        return None

    def _keep(
        self, token: str, key: Hashable, value: T, seq: int | None, derived: _Entry[T] | None = None
    ) -> None:
        """Keeps ``value``; with ``derived``, an entry whose derived values go with it."""
        made = _Entry(value, self._weight(value), seq)
        if derived is not None:
            made.derived, made.lasting = derived.derived, derived.lasting
        with self._lock:
            self._values[token, key] = made
            self._values.move_to_end((token, key))
            while len(self._values) > 1 and (
                len(self._values) > self._size or self._kept_units() > self._budget
            ):
                self._values.popitem(last=False)

    def derive(
        self, source: object, key: Hashable, make: Callable[[], D], lasting: bool = False
    ) -> D:
        """What ``make`` makes from ``source`` (a kept value, or a part of one: the very
        object), kept with that value while its token is the current one. Made, not kept,
        for a source not kept, or kept under an older token: its data have changed.

        With ``lasting`` (``make`` reads ``source`` alone), it also goes with the value
        brought to a later step, where that value holds the very ``source`` still: the
        steps changed nothing it was made from."""
        token = self.token()
        with self._lock:
            entry = next(
                (
                    entry
                    for (kept_under, _key), entry in self._values.items()
                    if kept_under == token and _holds(entry.value, source)
                ),
                None,
            )
            if entry is not None and key in entry.derived:
                entry.derived.move_to_end(key)
                return cast(D, entry.derived[key])
        value = make()
        if entry is not None:
            with self._lock:
                entry.derived[key] = value
                if lasting:
                    entry.lasting[key] = source
                while len(entry.derived) > DERIVED:
                    gone, _ = entry.derived.popitem(last=False)
                    entry.lasting.pop(gone, None)
        return value

    def _kept_units(self) -> int:
        return sum(entry.weight for entry in self._values.values())

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def clear_derived(self) -> None:
        """Drops what was made from the values kept, and keeps the values."""
        with self._lock:
            for entry in self._values.values():
                entry.derived.clear()


def _lasting(entry: _Entry[T], value: T) -> _Entry[T] | None:
    """An entry holding what was derived from ``entry``'s value and lasts into ``value``
    (brought from it): made with ``lasting`` from a source ``value`` still holds."""
    with_it = _Entry(value, 0)
    for key, source in entry.lasting.items():
        if key in entry.derived and _holds(value, source):
            with_it.derived[key] = entry.derived[key]
            with_it.lasting[key] = source
    return with_it if with_it.derived else None


def _holds(value: object, source: object) -> bool:
    """Whether ``source`` is ``value`` or, for a tuple, one of its items (the very object)."""
    return value is source or (isinstance(value, tuple) and any(item is source for item in value))


def changes_since(token: str, seq: int, now: Now) -> list[Change] | None:
    """The result rows written in the steps after ``seq`` up to ``now``, the units they
    added or renamed, and the plans they wrote, or whose quotas or drives they wrote, when
    those steps follow each other from ``token`` and moved no unit; else None. One query.

    A value made in a transaction that was rolled back carries a token no committed step
    follows from; a step that moved, dated, merged or deleted a unit (or wrote too many
    rows) logs a row of neither a unit nor a plan; a step that wrote nothing logs no row,
    and breaks the chain as well."""
    rows = db.session.execute(
        select(
            FiguresChange.seq,
            FiguresChange.prev,
            FiguresChange.token,
            FiguresChange.unit_id,
            FiguresChange.drive_id,
            FiguresChange.state,
            FiguresChange.sign,
            FiguresChange.registered,
            FiguresChange.deferred,
            FiguresChange.bags_250,
            FiguresChange.bags_350,
            FiguresChange.bags_450,
            FiguresChange.repeat_donors,
            FiguresChange.plan_id,
        )
        .where(FiguresChange.seq > seq, FiguresChange.seq <= now.seq)
        .order_by(FiguresChange.seq, FiguresChange.id)
        .limit(ROWS_BROUGHT + 1)
    ).all()
    if len(rows) > ROWS_BROUGHT:
        return None
    step, before, after = seq, None, token
    changes = []
    for row in rows:
        if row.unit_id is None and row.plan_id is None:
            return None  # a step that changed a unit, or wrote too many rows
        if row.seq == step + 1 and row.prev == after:  # the next step, from the last
            step, before, after = row.seq, row.prev, row.token
        elif (row.seq, row.prev, row.token) != (step, before, after) or step == seq:
            return None  # a step missing, or one that does not follow
        changes.append(Change(*row[3:]))
    return changes if step == now.seq and after == now.token else None


def lock_stamp() -> None:
    """Takes the stamp's row before a lock on some other row, in a transaction that then
    writes a stamped table. Every write to one takes the stamp first (the triggers run
    before the statement); a transaction that locked a plan first, and then wrote, would
    wait for the stamp while a writer holding it waited for the plan: a deadlock. SQLite's
    writers take turns: nothing to lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(DataStamp.id).where(DataStamp.id == 1).with_for_update())
