"""Vietnamese display of numbers and dates: 15.151 units, 122,2%, 28/12/2020."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from campaign.rates import display_percent, display_units


def number(value: int | Decimal | None) -> str:
    """ "." groups thousands and "," marks decimals."""
    if value is None:
        return ""
    text = f"{value:,}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def units(value: Fraction | int | None) -> str:
    if value is None:
        return ""
    return number(display_units(Fraction(value)))


def percent(rate: Fraction | None) -> str:
    shown = display_percent(rate)
    return "" if shown is None else number(shown) + "%"


def short_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def long_date(value: date, place: str = "") -> str:
    """ "Quảng Xương, ngày 13 tháng 5 năm 2021": a leading zero for days below 10 and months 1-2."""
    month = f"{value.month:02d}" if value.month <= 2 else str(value.month)
    text = f"ngày {value.day:02d} tháng {month} năm {value.year}"
    return f"{place}, {text}" if place else text


FILTERS = {
    "number": number,
    "units": units,
    "percent": percent,
    "short_date": short_date,
    "long_date": long_date,
}
