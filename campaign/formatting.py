"""Vietnamese display of numbers and dates: 15.151 units, 122,2%, 28/12/2020."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

from campaign.rates import change, display_change, display_percent, display_share, display_units
from campaign.text import fold

#: Vietnam keeps UTC+7 all year (no daylight saving): no time zone database needed.
VIETNAM = timezone(timedelta(hours=7), "ICT")


def vietnam_today(now: datetime | None = None) -> date:
    """Today's date in Vietnam: a plan's months and a drive's deadline follow it, not UTC."""
    return (now or datetime.now(UTC)).astimezone(VIETNAM).date()


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


def share(value: Fraction | None, target: int | None = None) -> str:
    """A share judged against a target: 69,96 % against 70 % reads 69,9 %."""
    shown = display_share(value, target)
    return "" if shown is None else number(shown) + "%"


def change_from(collected: Fraction | None, previous: Fraction | None) -> str:
    """Collected against an earlier figure, signed: "+12,5%", "−3,0%", "0,0%"."""
    shown = display_change(change(collected, previous))
    if shown is None:
        return ""
    sign = "+" if shown > 0 else "−" if shown < 0 else ""
    return sign + number(abs(shown)) + "%"


def short_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def vietnam_time(value: datetime | None) -> str:
    """An instant in Vietnam time, "13/05/2021 14:30"; a naive value is UTC, as stored."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def long_date(value: date, place: str = "") -> str:
    """ "Quảng Xương, ngày 13 tháng 5 năm 2021": a leading zero for days below 10 and months 1-2."""
    month = f"{value.month:02d}" if value.month <= 2 else str(value.month)
    text = f"ngày {value.day:02d} tháng {month} năm {value.year}"
    return f"{place}, {text}" if place else text


def bar_step(rate: Fraction | None) -> int:
    """A progress bar's width class in 5 % steps (CSP forbids inline widths), capped at 100.

    Follows the shown percentage down, so a bar is never fuller than the figure beside it.
    """
    shown = display_percent(rate)
    if shown is None:
        return 0
    return int(min(shown, Decimal(100)) // 5 * 5)


def bar_length(rate: Fraction | None, full: int, cap: int = 150) -> Decimal:
    """The length of a chart bar drawn ``full`` long at 100 %, for rates shown up to ``cap`` %."""
    shown = display_percent(rate) or Decimal(0)
    return (min(shown, Decimal(cap)) * full / 100).quantize(Decimal("0.1"))


FILTERS = {
    "fold": fold,
    "bar_step": bar_step,
    "bar_length": bar_length,
    "number": number,
    "units": units,
    "percent": percent,
    "share": share,
    "change_from": change_from,
    "short_date": short_date,
    "long_date": long_date,
    "vietnam_time": vietnam_time,
}
