"""Reading the grids' many number fields: whole non-negative numbers, one message per row."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_babel import gettext as _

from campaign.numbers import MAX_COUNT, too_large

#: "1234" or "1.234": a dot groups thousands, as Vietnamese writes numbers.
_WHOLE = re.compile(r"([0-9]+|[0-9]{1,3}(\.[0-9]{3})+)")


class BadNumber(ValueError):
    pass


def whole_number(text: str) -> int | None:
    """An empty field is ``None``; anything but a whole number ≥ 0 is refused in Vietnamese."""
    text = text.strip().replace(" ", "")
    if not text:
        return None
    if text.startswith("-") and _WHOLE.fullmatch(text[1:]):
        raise BadNumber(_("Không được là số âm."))
    if not _WHOLE.fullmatch(text):
        raise BadNumber(_("Chỉ nhập số nguyên không âm, ví dụ 25."))
    digits = text.replace(".", "")
    # The length first: int() of thousands of digits is slow, and past 4.300 it raises.
    if len(digits.lstrip("0")) > len(str(MAX_COUNT)) or int(digits) > MAX_COUNT:
        raise BadNumber(too_large())
    return int(digits)


def read_row(
    form: Mapping[str, str], prefix: str, names: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, int | None], str | None]:
    """One row's typed texts, its numbers and the first error on it (if any)."""
    typed = {name: form.get(f"{prefix}-{name}", "") for name in names}
    values: dict[str, int | None] = {}
    error = None
    for name, text in typed.items():
        try:
            values[name] = whole_number(text)
        except BadNumber as bad:
            error = error or str(bad)
    return typed, values, error
