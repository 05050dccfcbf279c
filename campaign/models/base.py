"""Helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint


def utcnow() -> datetime:
    """Timestamps are stored in UTC, naive, the same way on every engine."""
    return datetime.now(UTC).replace(tzinfo=None)


def one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    choices = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({choices})", name=name)


def percent_or_null(*columns: str) -> list[CheckConstraint]:
    return [
        CheckConstraint(f"{c} IS NULL OR ({c} >= 1 AND {c} <= 100)", name=f"{c}_a_percent")
        for c in columns
    ]


def not_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{c} >= 0", name=f"{c}_not_negative") for c in columns]
