"""The bounds every way in shares (pages, grids, imports, API, services), and the one
parser for the ids and versions a request carries.

Python's ``int()`` reads far more than a person types: ``int("²")`` fails although
``"²".isdigit()`` is true, ``int("٣")`` is 3, and 5.000 digits raise past Python's
limit; the database then refuses what it cannot hold (64-bit on SQLite, 32-bit on
PostgreSQL). Everything read from a request goes through here first.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, Map

from campaign.formatting import number

#: The most a count (registered, deferred, bags) or a quota may be, in people, bags or
#: blood units. A province collects 15.000–40.000 units a year; the bound only keeps out
#: typing mistakes and values the 32-bit columns cannot hold.
MAX_COUNT = 1_000_000
#: Ids and versions are 32-bit integers on PostgreSQL (64-bit on SQLite): the range valid
#: on both engines. A larger one names nothing.
MAX_ID = 2**31 - 1

_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")


def too_large() -> str:
    """What a form, a grid or a service says of a count or quota past :data:`MAX_COUNT`."""
    return _("Số quá lớn; tối đa %(max)s.", max=number(MAX_COUNT))


def parse_id(text: Any) -> int | None:
    """``text`` as a whole number from 0 to :data:`MAX_ID`, ASCII digits only; else ``None``."""
    if not isinstance(text, str) or not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


class IdConverter(IntegerConverter):
    """``<int:...>`` in a route: ASCII digits up to :data:`MAX_ID`, else the route does not
    match (404) instead of a query the database refuses (500)."""

    regex = r"[0-9]{1,10}"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)
