"""Results: what a unit reports for a drive, and its review."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
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
    PlanStatus,
    Quota,
    Result,
    ResultState,
    User,
)
from campaign.models.base import utcnow
from campaign.numbers import MAX_COUNT, too_large
from campaign.services import audit
from campaign.services.errors import Conflict, ServiceError


@dataclass(frozen=True)
class Counts:
    registered: int = 0
    deferred: int = 0
    bags_250: int = 0
    bags_350: int = 0
    bags_450: int = 0

    def check(self) -> None:
        for name in COUNT_FIELDS:
            value = getattr(self, name)
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


COUNT_FIELDS = tuple(f.name for f in fields(Counts))


def find(drive: Drive, unit: OrgUnit) -> Result | None:
    return db.session.scalar(
        select(Result).where(Result.drive_id == drive.id, Result.unit_id == unit.id)
    )


def of_drive(drive: Drive, within: Select[tuple[int]]) -> list[Result]:
    """The drive's results from the units ``within``."""
    query = select(Result).where(Result.drive_id == drive.id, Result.unit_id.in_(within))
    return list(db.session.scalars(query))


def expected_units(drive: Drive) -> Select[tuple[OrgUnit]]:
    """Who is expected to report: the plan's quota holders, else the units directly
    below the issuer that exist on the day of the drive."""
    holders = select(Quota.unit_id).where(Quota.plan_id == drive.plan_id, Quota.amount > 0)
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


def save(
    drive: Drive,
    unit: OrgUnit,
    counts: Counts,
    *,
    user: User | None = None,
    expected_version: int | None = None,
    submit: bool = False,
) -> Result:
    """Creates or updates a unit's result; ``expected_version`` guards against lost updates.

    An update must name the version it was edited from; if another save came
    first the update is refused with :class:`Conflict` and nothing changes.
    """
    counts.check()
    if drive.plan.status == PlanStatus.CLOSED:
        raise ServiceError(_("Kế hoạch đã kết thúc, không nhận báo cáo."))
    result = find(drive, unit)
    if result is None:
        result = Result(drive=drive, unit=unit, **asdict(counts), updated_by_id=_id(user))
        db.session.add(result)
        before = None
    else:
        if expected_version is None or expected_version != result.version:
            raise Conflict(
                _(
                    "Báo cáo này vừa được người khác lưu. Số liệu hiện tại được hiển thị; "
                    "hãy kiểm tra rồi lưu lại."
                ),
                current=result,
            )
        if result.state == ResultState.APPROVED:
            raise ServiceError(_("Báo cáo đã được duyệt; cần Ban chỉ đạo mở lại để sửa."))
        before = audit.snapshot(result)
        for name, value in asdict(counts).items():
            setattr(result, name, value)
        result.updated_by_id = _id(user)
        result.state = ResultState.DRAFT.value
    if submit:
        result.state = ResultState.SUBMITTED.value
        result.submitted_at = utcnow()
        result.return_reason = None
    _flush_or_conflict()
    audit.record("result.submit" if submit else "result.save", result, user=user, before=before)
    return result


def save_many(
    drive: Drive, rows: Sequence[tuple[int, Counts, int | None]], *, user: User | None = None
) -> int:
    """:func:`save` with ``submit=True`` for many units of one drive, in a few statements.

    Each row is (unit id, counts, the version it was edited from, or ``None`` for a new
    result). If any of them was created, changed or approved since, it raises and the
    caller rolls back: all or nothing, like a file import must be.
    """
    if drive.plan.status == PlanStatus.CLOSED:
        raise ServiceError(_("Kế hoạch đã kết thúc, không nhận báo cáo."))
    for _unit_id, counts, _version in rows:
        counts.check()
    stored = stored_by_unit(drive)
    for unit_id, _counts, version in rows:
        found = stored.get(unit_id)
        if (found.version if found else None) != version:
            raise _conflict()
        if found and found.state == ResultState.APPROVED:
            raise ServiceError(_("Báo cáo đã được duyệt; cần Ban chỉ đạo mở lại để sửa."))
    now = utcnow()
    written = {
        "state": ResultState.SUBMITTED.value,
        "submitted_at": now,
        "updated_at": now,
        "updated_by_id": _id(user),
        "return_reason": None,
    }
    try:
        _insert_new(drive, [r for r in rows if r[2] is None], written)
        _update_changed([r for r in rows if r[2] is not None], stored, written)
    except IntegrityError as error:
        raise _conflict() from error
    # Overwritten figures stay in each record's history; what the file added is listed
    # once, on the drive: a row per new result would double the rows the import writes.
    audit.record_many(
        "result.submit",
        "result",
        [
            (
                stored[unit_id].id,
                _audited(drive, unit_id, stored[unit_id]),
                _audited(drive, unit_id, {**vars(counts), **written, "version": version + 1}),
            )
            for unit_id, counts, version in rows
            if version is not None
        ],
        user=user,
    )
    audit.record(
        "result.import",
        drive,
        user=user,
        after=audit.import_summary(
            {unit_id: list(vars(counts).values()) for unit_id, counts, _version in rows},
            changed=sum(1 for row in rows if row[2] is not None),
        ),
    )
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Result):
            db.session.expire(obj)  # written in bulk, past the objects the session holds
    return len(rows)


#: What the audit keeps of a result written in bulk.
AUDITED = (*COUNT_FIELDS, "state", "version")


def stored_by_unit(drive: Drive) -> dict[int, Any]:
    """The drive's results by unit, as rows of id, unit id and the audited values."""
    columns = [Result.id, Result.unit_id, *(getattr(Result, name) for name in AUDITED)]
    query = select(*columns).where(Result.drive_id == drive.id)
    return {row.unit_id: row for row in db.session.execute(query)}


def _audited(drive: Drive, unit_id: int, values: Any) -> dict[str, Any]:
    get = values.get if isinstance(values, dict) else values._mapping.get
    return {"drive_id": drive.id, "unit_id": unit_id} | {name: get(name) for name in AUDITED}


def _conflict() -> Conflict:
    return Conflict(
        _("Báo cáo này vừa được người khác lưu. Hãy tải lại trang, kiểm tra rồi lưu lại.")
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
        raise Conflict(
            _("Báo cáo này vừa được người khác lưu. Hãy tải lại trang, kiểm tra rồi lưu lại.")
        ) from error


def _check_version(result: Result, expected_version: int | None) -> None:
    """Reviewers act on what they saw: a report changed since is refused."""
    if expected_version is not None and expected_version != result.version:
        raise Conflict(
            _("Báo cáo vừa được thay đổi. Số liệu hiện tại được hiển thị; hãy xem lại."),
            current=result,
        )


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
