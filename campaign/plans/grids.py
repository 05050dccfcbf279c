"""Reading the grids' many number fields: whole non-negative numbers, one message per row."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _

from campaign.numbers import too_large
from campaign.spreadsheets import reading
from campaign.spreadsheets.reading import NotANumber, TooLarge


class BadNumber(ValueError):
    pass


def whole_number(text: str) -> int | None:
    """An empty field is ``None``; anything but a whole number ≥ 0 is refused in Vietnamese.

    Read as a workbook's cell is, so a grid and an import accept the same numbers."""
    try:
        number = reading.whole_number(text)
    except TooLarge:
        raise BadNumber(too_large()) from None
    except NotANumber:
        raise BadNumber(_("Chỉ nhập số nguyên không âm, ví dụ 25.")) from None
    if number is not None and number < 0:
        raise BadNumber(_("Không được là số âm."))
    return number


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
