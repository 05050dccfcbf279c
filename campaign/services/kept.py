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
from typing import Generic, TypeVar

from sqlalchemy import false, func, select

from campaign.extensions import db
from campaign.models import DataStamp

T = TypeVar("T")

#: Values kept per process: the plans read most are a few (this year's and last year's, of
#: one or two issuers).
KEPT = 4
#: And units kept in all, at most: a national tree of 105.000 units, kept with its shape,
#: takes about 58 MB, so a process keeps two of them (a single larger tree is still kept).
UNITS_KEPT = 250_000

#: Where a value was kept: its token and its key.
Stamped = tuple[str, Hashable]


class Kept(Generic[T]):
    """The last ``size`` values made, each under the token of ``stamp`` it was made with,
    and no more than ``budget`` in all as ``weight`` counts them."""

    def __init__(
        self,
        stamp: str,
        weight: Callable[[T], int] = lambda value: 1,
        size: int = KEPT,
        budget: int = UNITS_KEPT,
    ) -> None:
        self._stamp = getattr(DataStamp, stamp), getattr(DataStamp, f"{stamp}_writer")
        self._weight, self._size, self._budget = weight, size, budget
        self._values: OrderedDict[Stamped, tuple[T, int]] = OrderedDict()
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
        if instead is not None:
            with self._lock:
                if (token, instead) in self._values:
                    self._values.move_to_end((token, instead))
                    return self._values[token, instead][0]
        return self._kept((token, key), make)

    def derive(self, made: Stamped | None, key: Hashable, make: Callable[[], T]) -> T:
        """A value made from one that was ``made`` under a token and a key (see
        :meth:`where`), kept under them while the token is the current one; made, not
        kept, for a value not kept or made under another token (its data have changed)."""
        if made is None or self.token() != made[0]:
            return make()
        return self._kept((made[0], (made[1], key)), make)

    def where(self, match: Callable[[T], bool]) -> Stamped | None:
        """The token and key of the value kept that ``match`` picks, if one is."""
        with self._lock:
            for stamped, (value, _weight) in self._values.items():
                if match(value):
                    return stamped
        return None

    def _kept(self, stamped: Stamped, make: Callable[[], T]) -> T:
        with self._lock:
            if stamped in self._values:
                self._values.move_to_end(stamped)
                return self._values[stamped][0]
        value = make()  # outside the lock: two requests may both make it, and agree
        with self._lock:
            self._values[stamped] = value, self._weight(value)
            self._values.move_to_end(stamped)
            while len(self._values) > 1 and (
                len(self._values) > self._size or self._kept_units() > self._budget
            ):
                self._values.popitem(last=False)
        return value

    def _kept_units(self) -> int:
        return sum(weight for _value, weight in self._values.values())

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def lock_stamp() -> None:
    """Takes the stamp's row before a lock on some other row, in a transaction that then
    writes a stamped table. Every write to one takes the stamp first (the triggers run
    before the statement); a transaction that locked a plan first, and then wrote, would
    wait for the stamp while a writer holding it waited for the plan: a deadlock. SQLite's
    writers take turns: nothing to lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(DataStamp.id).where(DataStamp.id == 1).with_for_update())
