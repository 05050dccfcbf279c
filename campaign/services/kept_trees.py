"""Unit trees kept between requests, keyed by the tree's stamp.

A national tree is a hundred thousand units: reading it and sorting it by name was a
third of a national summary. It changes seldom (a unit made, renamed, moved, closed),
while results change all through a campaign; so the tree a plan reads is kept, and the
figures are still made from the results at every request.

What is kept is keyed by the token of ``unit_tree_stamp``, which the database's own
triggers change in the transaction of every write to ``org_unit`` or ``unit_move``
(see the migration ``unit_tree_stamp``). A write of this transaction is seen at once;
one committed by another transaction is seen by the next statement, as every query of
the summary sees it. Without a stamp row nothing is kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy import select

from campaign.extensions import db
from campaign.models import UnitTreeStamp

T = TypeVar("T")

#: Trees kept per process: the plans read most are a few (this year's and last year's, of
#: one or two issuers).
KEPT = 4
#: And units kept in all, at most: a national tree of 105.000 units, kept with its shape,
#: takes about 58 MB, so a process keeps two of them (a single larger tree is still kept).
UNITS_KEPT = 250_000


class KeptTrees(Generic[T]):
    """The last ``size`` values made, each under the stamp it was made with, and no more
    than ``budget`` units in all as ``weight`` counts them."""

    def __init__(
        self,
        weight: Callable[[T], int],
        size: int = KEPT,
        budget: int = UNITS_KEPT,
    ) -> None:
        self._weight, self._size, self._budget = weight, size, budget
        self._values: OrderedDict[tuple[str, Hashable], tuple[T, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value kept under ``key`` for the tree as it stands, or one just made."""
        token = db.session.scalar(select(UnitTreeStamp.token).where(UnitTreeStamp.id == 1))
        if token is None:
            return make()
        stamped = (token, key)
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
