"""Results: what a unit reports for a drive, and its review."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from campaign.extensions import db
from campaign.models import (
    COUNTED_STATES,
    Drive,
    OrgUnit,
    Quota,
    Result,
    ResultState,
    User,
)
from campaign.models.base import utcnow
from campaign.numbers import MAX_COUNT, too_large
from campaign.services import audit, plans
from campaign.services.errors import Conflict, ServiceError
from campaign.services.transaction import atomic


@dataclass(frozen=True)
class Counts:
    registered: int = 0
    deferred: int = 0
    bags_250: int = 0
    bags_350: int = 0
    bags_450: int = 0
    #: Of the donors, how many had donated before; ``None``: not counted.
    repeat_donors: int | None = None

    def check(self) -> None:
        for name in COUNT_FIELDS:
            value = getattr(self, name)
            if value is None and name == "repeat_donors":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ServiceError(_("Số liệu phải là số nguyên không âm."), field=name)
            if value > MAX_COUNT:
                raise ServiceError(too_large(), field=name)
        # DOMAIN.md: everyone who registered either donated, was deferred, or left.
        accounted = self.deferred + self.bags_250 + self.bags_350 + self.bags_450
        if self.registered < accounted:
            raise ServiceError(
                _(
                    "Số đăng ký (%(registered)d) nhỏ hơn số hiến thành công và không đủ điều "
                    "kiện (%(sum)d).",
                    registered=self.registered,
                    sum=accounted,
                ),
                field="registered",
            )
        donors = self.bags_250 + self.bags_350 + self.bags_450
        if self.repeat_donors is not None and self.repeat_donors > donors:
            raise ServiceError(
                _(
                    "Số người hiến nhắc lại (%(repeat)d) nhiều hơn số hiến thành công "
                    "(%(donors)d).",
                    repeat=self.repeat_donors,
                    donors=donors,
                ),
                field="repeat_donors",
            )


COUNT_FIELDS = tuple(f.name for f in fields(Counts))


def find(drive: Drive, unit: OrgUnit) -> Result | None:
    return db.session.scalar(
        select(Result).where(Result.drive_id == drive.id, Result.unit_id == unit.id)
    )


def of_drive(drive: Drive, within: Select[tuple[int]]) -> list[Result]:
    """The drive's results from the units ``within``."""
    query = select(Result).where(Result.drive_id == drive.id, Result.unit_id.in_(within))
    return list(db.session.scalars(query))


def quota_holders(plan_id: int) -> Select[tuple[int]]:
    """The units holding a quota above 0 in the plan: whom its drives expect reports from."""
    return select(Quota.unit_id).where(Quota.plan_id == plan_id, Quota.amount > 0)


def expected_units(drive: Drive) -> Select[tuple[OrgUnit]]:
    """Who is expected to report: the plan's quota holders, else the units directly
    below the issuer that exist on the day of the drive."""
    holders = quota_holders(drive.plan_id)
    if db.session.scalar(select(func.count()).select_from(holders.subquery())):
        return select(OrgUnit).where(OrgUnit.id.in_(holders))
    day = drive.starts_on
    return select(OrgUnit).where(
        OrgUnit.parent_id == drive.plan.issuer_id,
        (OrgUnit.valid_from.is_(None)) | (OrgUnit.valid_from <= day),
        (OrgUnit.valid_to.is_(None)) | (OrgUnit.valid_to >= day),
    )


def not_reported(drive: Drive, within: Select[tuple[int]]) -> list[tuple[OrgUnit, Result | None]]:
    """Expected units ``within`` whose report for the drive counts nowhere yet, with
    their draft or returned report if they have one."""
    found = {r.unit_id: r for r in of_drive(drive, within)}
    units = db.session.scalars(expected_units(drive).where(OrgUnit.id.in_(within)))
    return [
        (unit, found.get(unit.id))
        for unit in units
        if unit.id not in found or found[unit.id].state not in COUNTED_STATES
    ]


#: One row of a save: the unit's id, its counts, and the version it was edited from
#: (``None`` for a unit with no result yet).
Row = tuple[int, Counts, int | None]


@atomic
def save(
    drive: Drive,
    unit: OrgUnit,
    counts: Counts,
    *,
    user: User | None = None,
    expected_version: int | None = None,
    submit: bool = False,
) -> Result:
    """Creates or updates a unit's result: :func:`save_many` for one row.

    A :class:`Conflict` carries what is stored now, for the caller to show beside what
    was typed."""
    try:
        save_many(drive, [(unit.id, counts, expected_version)], user=user, submit=submit)
    except Conflict as conflict:
        raise _conflict(current=find(drive, unit)) from conflict
    saved = find(drive, unit)
    assert saved is not None
    return saved


@atomic
def save_many(
    drive: Drive,
    rows: Sequence[Row],
    *,
    user: User | None = None,
    submit: bool = True,
    one_entry: bool = False,
) -> int:
    """Saves results of units of one drive, all or nothing, in a few statements: the
    one write path of the report form, the organiser's grid, the API and the file import.

    An update must name the version it was edited from: if another save came first (the
    result was created, changed or approved since), it raises :class:`Conflict` and
    nothing changes. Each result changed gets an audit entry; so does each new one,
    unless ``one_entry``: a file import lists what it added once, on the drive (a row
    per new result would double the rows it writes).
    """
    plans.check_open(drive.plan)
    for _unit_id, counts, _version in rows:
        counts.check()
    stored = stored_by_unit(drive, [unit_id for unit_id, _c, _v in rows])
    for unit_id, _counts, version in rows:
        found = stored.get(unit_id)
        if (found.version if found else None) != version:
            raise _conflict()
        if found and found.state == ResultState.APPROVED:
            raise ServiceError(_("Báo cáo đã được duyệt; cần Ban chỉ đạo mở lại để sửa."))
    now = utcnow()
    written: dict[str, Any] = {"updated_at": now, "updated_by_id": _id(user)}
    if submit:
        written |= {
            "state": ResultState.SUBMITTED.value,
            "submitted_at": now,
            "return_reason": None,
        }
    else:
        written["state"] = ResultState.DRAFT.value
    new = [row for row in rows if row[2] is None]
    changed = [row for row in rows if row[2] is not None]
    try:
        _insert_new(drive, new, written)
        _update_changed(changed, stored, written)
    except IntegrityError as error:
        raise _conflict() from error
    action = "result.submit" if submit else "result.save"
    entries: list[tuple[int, dict[str, Any] | None, dict[str, Any]]] = [
        (
            stored[unit_id].id,
            _audited(drive, unit_id, stored[unit_id]),
            _audited(drive, unit_id, {**vars(counts), **written, "version": version + 1}),
        )
        for unit_id, counts, version in changed
        if version is not None
    ]
    if new and not one_entry:
        ids = stored_by_unit(drive, [unit_id for unit_id, _c, _v in new])
        entries += [
            (ids[unit_id].id, None, _audited(drive, unit_id, ids[unit_id]))
            for unit_id, _c, _v in new
        ]
    audit.record_many(action, "result", entries, user=user)
    if one_entry:
        audit.record(
            "result.import",
            drive,
            user=user,
            after=audit.import_summary(
                {unit_id: list(vars(counts).values()) for unit_id, counts, _version in rows},
                changed=len(changed),
            ),
        )
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Result):
            db.session.expire(obj)  # written in bulk, past the objects the session holds
    return len(rows)


#: What the audit keeps of a result written in bulk.
AUDITED = (*COUNT_FIELDS, "state", "version")


def stored_by_unit(drive: Drive, unit_ids: Sequence[int] | None = None) -> dict[int, Any]:
    """The drive's results by unit (of ``unit_ids`` only, when few are given), as rows of
    id, unit id and the audited values."""
    columns = [Result.id, Result.unit_id, *(getattr(Result, name) for name in AUDITED)]
    query = select(*columns).where(Result.drive_id == drive.id)
    if unit_ids is not None and len(unit_ids) <= 500:  # a file's thousands: the whole drive
        query = query.where(Result.unit_id.in_(unit_ids))
    return {row.unit_id: row for row in db.session.execute(query)}


def _audited(drive: Drive, unit_id: int, values: Any) -> dict[str, Any]:
    get = values.get if isinstance(values, dict) else values._mapping.get
    return {"drive_id": drive.id, "unit_id": unit_id} | {name: get(name) for name in AUDITED}


def _conflict(current: Result | None = None) -> Conflict:
    """The one message for a report someone else changed first, whatever the action."""
    return Conflict(
        _(
            "Báo cáo này vừa được người khác thay đổi. Số liệu hiện tại được hiển thị; "
            "hãy xem lại rồi làm lại."
        ),
        current=current,
    )


def _insert_new(
    drive: Drive, rows: Sequence[tuple[int, Counts, int | None]], written: dict[str, Any]
) -> None:
    if rows:
        fixed = {"drive_id": drive.id, **written, "created_at": written["updated_at"], "version": 1}
        values = [{"unit_id": unit_id, **vars(counts), **fixed} for unit_id, counts, _v in rows]
        # The table, not the entity: the ORM's per-row bookkeeping is most of a bulk insert.
        db.session.execute(insert(Result.__table__), values)


def _update_changed(
    rows: Sequence[tuple[int, Counts, int | None]], stored: dict[int, Any], written: dict[str, Any]
) -> None:
    """One statement for all rows, each guarded by the version it was edited from."""
    if not rows:
        return
    table = Result.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("result_id"), table.c.version == bindparam("seen"))
        .values(version=table.c.version + 1)
    )
    params = [
        {"result_id": stored[unit_id].id, "seen": version, **vars(counts), **written}
        for unit_id, counts, version in rows
    ]
    written_rows = cast(CursorResult[Any], db.session.execute(statement, params)).rowcount
    if written_rows != len(params):
        raise _conflict()


def _flush_or_conflict() -> None:
    """A writer that slipped in between our read and our write makes the flush fail."""
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError) as error:
        raise _conflict() from error


def _check_version(result: Result, expected_version: int | None) -> None:
    """Reviewers act on what they saw: a report changed since is refused."""
    if expected_version is not None and expected_version != result.version:
        raise _conflict(current=result)


@contextmanager
def _transition(
    result: Result,
    action: str,
    *,
    from_state: ResultState,
    refusal: str,
    user: User | None,
    expected_version: int | None,
    note: str | None = None,
) -> Iterator[None]:
    """One review step: checked against the version the reviewer saw and the state it
    starts from, then flushed (a concurrent writer makes it a Conflict) and audited."""
    _check_version(result, expected_version)
    if result.state != from_state:
        raise ServiceError(refusal)
    before = audit.snapshot(result)
    yield
    _flush_or_conflict()
    audit.record(action, result, user=user, before=before, note=note)


def _reason(reason: str, message: str) -> str:
    if not reason.strip():
        raise ServiceError(message, field="reason")
    return reason.strip()


@atomic
def approve(
    result: Result, *, user: User | None = None, expected_version: int | None = None
) -> Result:
    with _transition(
        result, "result.approve", from_state=ResultState.SUBMITTED,
        refusal=_("Chỉ duyệt được báo cáo đã gửi."), user=user, expected_version=expected_version,
    ):  # fmt: skip
        result.state = ResultState.APPROVED.value
        result.reviewed_at, result.reviewed_by_id = utcnow(), _id(user)
    return result


@atomic
def return_for_correction(
    result: Result, reason: str, *, user: User | None = None, expected_version: int | None = None
) -> Result:
    reason = _reason(reason, _("Cần ghi lý do trả lại."))
    with _transition(
        result, "result.return", from_state=ResultState.SUBMITTED,
        refusal=_("Chỉ trả lại được báo cáo đã gửi."), user=user,
        expected_version=expected_version, note=reason,
    ):  # fmt: skip
        _send_back(result, reason, user)
    return result


@atomic
def withdraw(
    result: Result, *, user: User | None = None, expected_version: int | None = None
) -> Result:
    """A submitted report goes back to draft, until someone has reviewed it."""
    with _transition(
        result, "result.withdraw", from_state=ResultState.SUBMITTED,
        refusal=_("Chỉ rút lại được báo cáo đã gửi và chưa được duyệt."), user=user,
        expected_version=expected_version,
    ):  # fmt: skip
        result.state = ResultState.DRAFT.value
        result.submitted_at = None
        result.updated_by_id = _id(user)
    return result


@atomic
def reopen(
    result: Result, reason: str, *, user: User | None = None, expected_version: int | None = None
) -> Result:
    """An approved report goes back to "returned" with the reason, so the unit can
    correct and resubmit it; it counts nowhere until then."""
    reason = _reason(reason, _("Cần ghi lý do mở lại."))
    with _transition(
        result, "result.reopen", from_state=ResultState.APPROVED,
        refusal=_("Chỉ mở lại được báo cáo đã duyệt."), user=user,
        expected_version=expected_version, note=reason,
    ):  # fmt: skip
        _send_back(result, reason, user)
    return result


def _send_back(result: Result, reason: str, user: User | None) -> None:
    """Returned (or reopened): back to the unit with the reason; it counts nowhere."""
    result.state = ResultState.RETURNED.value
    result.return_reason = reason
    result.reviewed_at, result.reviewed_by_id = utcnow(), _id(user)


def _id(user: User | None) -> int | None:
    return user.id if user is not None else None
