"""Who owes a drive's report, and whether each report came on time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from campaign.extensions import db
from campaign.formatting import VIETNAM
from campaign.models import COUNTED_STATES, Drive, OrgUnit, Result, ResultState
from campaign.rates import (
    ReportingTotals,
    ReportTimeliness,
    reporting_totals,
    timeliness,
)
from campaign.services.results import expected_units
from campaign.text import sort_key

#: States of a report the unit sent at least once: a unit with no quota that has one is
#: expected from then on (a returned report is owed again).
SENT_STATES = (*COUNTED_STATES, ResultState.RETURNED.value)


@dataclass(frozen=True)
class UnitReport:
    unit: OrgUnit
    #: The unit's report for the drive in any state, ``None`` when it has none.
    result: Result | None
    #: When the report that counts now was submitted (UTC); ``None`` while none counts.
    submitted_at: datetime | None
    timeliness: ReportTimeliness

    @property
    def owing(self) -> bool:
        """No report counts yet: the unit is still to be chased."""
        return self.submitted_at is None


@dataclass(frozen=True)
class DriveReporting:
    drive: Drive
    #: The Vietnam day it was judged on.
    today: date
    #: Every unit expected to report, by name.
    units: list[UnitReport]
    totals: ReportingTotals

    @property
    def owing(self) -> list[UnitReport]:
        return [u for u in self.units if u.owing]


def submitted_at(result: Result | None) -> datetime | None:
    """When the report that counts was sent: the latest submission, since sending a report
    again (after it was returned or withdrawn) stamps it anew. Rows written before
    submissions were stamped fall back to their last change."""
    if result is None:
        return None
    return sent_at(result.state, result.submitted_at, result.updated_at)


def sent_at(state: str, submitted: datetime | None, updated: datetime) -> datetime | None:
    """:func:`submitted_at` from a report's columns."""
    if state not in COUNTED_STATES:
        return None
    return submitted or updated


def vietnam_day(instant: datetime) -> date:
    """The Vietnam date of a stored (naive UTC) instant."""
    return instant.replace(tzinfo=UTC).astimezone(VIETNAM).date()


def drive_reporting(drive: Drive, within: Select[tuple[int]], today: date) -> DriveReporting:
    """The reports the drive expects from the units ``within`` (the quota holders, or the
    units directly below the issuer in a plan with no quota, and any unit that sent a
    report anyway), each judged on time, late, overdue or not yet due on ``today``."""
    found = {
        r.unit_id: r
        for r in db.session.scalars(
            select(Result)
            .where(Result.drive_id == drive.id, Result.unit_id.in_(within))
            .options(joinedload(Result.unit))
        )
    }
    units = {
        u.id: u for u in db.session.scalars(expected_units(drive).where(OrgUnit.id.in_(within)))
    }
    for sent_anyway in found.values():
        if sent_anyway.state in SENT_STATES:
            units.setdefault(sent_anyway.unit_id, sent_anyway.unit)
    rows = []
    for unit in sorted(units.values(), key=lambda u: (sort_key(u.name), u.code)):
        result = found.get(unit.id)
        sent = submitted_at(result)
        judged = timeliness(drive.report_due_on, vietnam_day(sent) if sent else None, today)
        rows.append(UnitReport(unit, result, sent, judged))
    totals = reporting_totals(row.timeliness.state for row in rows)
    return DriveReporting(drive, today, rows, totals)


@dataclass(frozen=True)
class DriveTotals:
    drive: Drive
    totals: ReportingTotals


def drive_totals(drive: Drive, within: Select[tuple[int]], today: date) -> DriveTotals:
    """:func:`drive_reporting`'s totals alone, from plain columns: a plan's dashboard shows
    one line per drive, and a national plan's drive expects a hundred thousand reports."""
    found = {
        unit_id: (state, sent_at(state, submitted, updated))
        for unit_id, state, submitted, updated in db.session.execute(
            select(Result.unit_id, Result.state, Result.submitted_at, Result.updated_at).where(
                Result.drive_id == drive.id, Result.unit_id.in_(within)
            )
        )
    }
    expected = set(
        db.session.scalars(
            expected_units(drive).with_only_columns(OrgUnit.id).where(OrgUnit.id.in_(within))
        )
    )
    expected |= {unit_id for unit_id, (state, _) in found.items() if state in SENT_STATES}
    due, judged = drive.report_due_on, []
    for unit_id in expected:
        sent = found[unit_id][1] if unit_id in found else None
        judged.append(timeliness(due, vietnam_day(sent) if sent else None, today).state)
    return DriveTotals(drive, reporting_totals(judged))
