"""Who owes a drive's report, and whether each report came on time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from campaign.extensions import db
from campaign.formatting import VIETNAM
from campaign.models import COUNTED_STATES, Drive, OrgUnit, Quota, Result, ResultState
from campaign.rates import (
    ReportingTotals,
    ReportTimeliness,
    reporting_totals,
    timeliness,
)
from campaign.services.results import expected_units, quota_holders
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
    """:func:`drive_reporting`'s totals alone (see :func:`drives_totals`)."""
    return drives_totals([drive], within, today)[0]


def drives_totals(
    drives: Sequence[Drive], within: Select[tuple[int]], today: date
) -> list[DriveTotals]:
    """:func:`drive_reporting`'s totals alone of each of ``drives``, from plain
    columns: a plan's dashboard shows one line per drive, and a national plan's drive
    expects a hundred thousand reports. The reports of every drive are one query, and so
    are the quota holders they all expect: a query for each of them, each naming the units
    ``within`` anew, was a third of a district dashboard's queries."""
    if not drives:
        return []
    found: dict[int, dict[int, tuple[str, datetime | None]]] = {d.id: {} for d in drives}
    rows = db.session.execute(
        select(
            Result.drive_id, Result.unit_id, Result.state, Result.submitted_at, Result.updated_at
        ).where(Result.drive_id.in_(list(found)), Result.unit_id.in_(within))
    )
    for drive_id, unit_id, state, submitted, updated in rows:
        found[drive_id][unit_id] = (state, sent_at(state, submitted, updated))
    holders = {plan_id: _holders_within(plan_id, within) for plan_id in {d.plan_id for d in drives}}
    totals = []
    for drive in drives:
        of_plan = holders[drive.plan_id]
        expected = set(_expected_ids(drive, within) if of_plan is None else of_plan)
        of_drive = found[drive.id]
        expected |= {unit_id for unit_id, (state, _) in of_drive.items() if state in SENT_STATES}
        due, judged = drive.report_due_on, []
        for unit_id in expected:
            sent = of_drive[unit_id][1] if unit_id in of_drive else None
            judged.append(timeliness(due, vietnam_day(sent) if sent else None, today).state)
        totals.append(DriveTotals(drive, reporting_totals(judged)))
    return totals


def _holders_within(plan_id: int, within: Select[tuple[int]]) -> list[int] | None:
    """The plan's quota holders ``within``, whom each of its drives expects; ``None`` for a
    plan without any (its drives expect the units below its issuer: see
    :func:`expected_units`)."""
    holders = quota_holders(plan_id)
    ids = list(db.session.scalars(holders.where(Quota.unit_id.in_(within))))
    if ids or db.session.scalar(holders.limit(1)) is not None:
        return ids
    return None


def _expected_ids(drive: Drive, within: Select[tuple[int]]) -> Sequence[int]:
    query = expected_units(drive).with_only_columns(OrgUnit.id).where(OrgUnit.id.in_(within))
    return db.session.scalars(query).all()
