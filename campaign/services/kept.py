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
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar, cast

from sqlalchemy import false, func, select

from campaign.extensions import db
from campaign.models import DataStamp

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

#: Where a value was kept: its token and its key.
Stamped = tuple[str, Hashable]


class _Entry(Generic[T]):
    __slots__ = ("value", "weight", "derived")

    def __init__(self, value: T, weight: int) -> None:
        self.value, self.weight = value, weight
        self.derived: OrderedDict[Hashable, object] = OrderedDict()


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
        self._weight, self._size, self._budget = weight, size, budget
        self._values: OrderedDict[Stamped, _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()

    def token(self) -> str | None:
        """The stamp's token (``tree`` or ``figures``) as this transaction sees it; None
        without a stamp row, and while this transaction has written what it stamps: on
        PostgreSQL the token changes with a transaction's first write only (see the
        migration), so what it made after a later write could not be told apart."""
        token, writer = self._stamp
        if db.session.get_bind().dialect.name == "postgresql":
            ours = writer == func.txid_current_if_assigned()
            query = select(token, func.coalesce(ours, false()))
        else:  # SQLite's triggers give each row written a new token
            query = select(token, false())
        row = db.session.execute(query.where(DataStamp.id == 1)).one_or_none()
        return None if row is None or row[1] else str(row[0])

    def get(self, key: Hashable, make: Callable[[], T], instead: Hashable = None) -> T:
        """The value kept under ``key`` for the data as they stand, or one just made; a
        value kept under ``instead``, if there is one, serves as well."""
        token = self.token()
        if token is None:
            return make()
        with self._lock:
            for stamped in ((token, instead), (token, key)):
                if stamped in self._values:
                    self._values.move_to_end(stamped)
                    return self._values[stamped].value
        value = make()  # outside the lock: two requests may both make it, and agree
        with self._lock:
            self._values[token, key] = _Entry(value, self._weight(value))
            self._values.move_to_end((token, key))
            while len(self._values) > 1 and (
                len(self._values) > self._size or self._kept_units() > self._budget
            ):
                self._values.popitem(last=False)
        return value

    def derive(self, source: object, key: Hashable, make: Callable[[], D]) -> D:
        """What ``make`` makes from ``source`` (a kept value, or a part of one: the very
        object), kept with that value while its token is the current one. Made, not kept,
        for a source not kept, or kept under an older token: its data have changed."""
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
                while len(entry.derived) > DERIVED:
                    entry.derived.popitem(last=False)
        return value

    def _kept_units(self) -> int:
        return sum(entry.weight for entry in self._values.values())

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def _holds(value: object, source: object) -> bool:
    """Whether ``source`` is ``value`` or, for a tuple, one of its items (the very object)."""
    return value is source or (isinstance(value, tuple) and any(item is source for item in value))


def lock_stamp() -> None:
    """Takes the stamp's row before a lock on some other row, in a transaction that then
    writes a stamped table. Every write to one takes the stamp first (the triggers run
    before the statement); a transaction that locked a plan first, and then wrote, would
    wait for the stamp while a writer holding it waited for the plan: a deadlock. SQLite's
    writers take turns: nothing to lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(DataStamp.id).where(DataStamp.id == 1).with_for_update())
