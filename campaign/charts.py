"""Geometry of the server-drawn progress chart: the template draws, this places.

No figure is computed here: the points come from :func:`campaign.rates.progress`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from campaign.rates import MonthPoint

#: The drawing area inside the SVG's view box, in its units.
LEFT, TOP, WIDTH, HEIGHT = 48, 12, 480, 180


@dataclass(frozen=True)
class Tick:
    position: Decimal
    value: Fraction


@dataclass(frozen=True)
class LineChart:
    #: "x,y x,y …" for the cumulative figure and the even pace.
    collected: str
    pace: str
    #: Height of the quota's line, ``None`` without a quota.
    quota_y: Decimal | None
    #: Month labels along the bottom (1-12) and values up the side.
    months: list[Tick]
    values: list[Tick]
    width: int = LEFT + WIDTH + 16
    height: int = TOP + HEIGHT + 28
    bottom: int = TOP + HEIGHT
    left: int = LEFT
    right: int = LEFT + WIDTH


def line_chart(points: list[MonthPoint], quota: int) -> LineChart:
    """Twelve months across; up to the larger of the quota and the cumulative figure."""
    top = max([Fraction(quota), *(p.cumulative for p in points), Fraction(1)])

    def x(month: int) -> Decimal:
        return _place(LEFT + Fraction(WIDTH * (month - Fraction(1, 2)), 12))

    def y(value: Fraction) -> Decimal:
        return _place(TOP + HEIGHT - HEIGHT * value / top)

    step = top / 4
    return LineChart(
        collected=" ".join(f"{x(p.month)},{y(p.cumulative)}" for p in points),
        pace=" ".join(f"{x(m)},{y(Fraction(quota * m, 12))}" for m in range(1, 13)),
        quota_y=y(Fraction(quota)) if quota else None,
        months=[Tick(x(m), Fraction(m)) for m in range(1, 13)],
        values=[Tick(y(step * n), step * n) for n in range(5)],
    )


def _place(value: Fraction | int) -> Decimal:
    exact = Fraction(value)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.1"))
