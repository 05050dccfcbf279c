"""Plans, their cited documents, drives and quotas."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, delete, extract, insert, or_, select, update

from campaign.documents import DocumentNumber, InvalidDocumentNumber, parse_document_number
from campaign.extensions import db
from campaign.models import (
    TARGET_COLUMNS,
    Drive,
    ImportKind,
    OrgUnit,
    PendingImport,
    Plan,
    PlanDocument,
    PlanStatus,
    Quota,
    Result,
    User,
)
from campaign.numbers import MAX_COUNT, parse_id, too_large
from campaign.rates import (
    NO_TARGETS,
    CountingRule,
    Targets,
    UnitNode,
    default_report_due,
    summarize,
)
from campaign.services import audit, public
from campaign.services.errors import NotFound, ServiceError
from campaign.services.kept import lock_stamp
from campaign.services.scope import subtree_ids
from campaign.services.summary import plan_quotas, plan_quotas_and_headcounts
from campaign.services.transaction import atomic
from campaign.services.units import TreeRow, tree_rows
from campaign.text import sort_key


def _document_number(text: str) -> str:
    return str(_parsed_number(text))


def _parsed_number(text: str) -> DocumentNumber:
    try:
        return parse_document_number(text)
    except InvalidDocumentNumber as error:
        raise ServiceError(str(error), field="number") from error


def _check_fields(
    number: str,
    issued_on: date,
    title: str,
    counting_rule: str,
    status: str,
    plan: Plan | None = None,
) -> str:
    parsed = _parsed_number(number)
    number = str(parsed)
    if counting_rule not in CountingRule.__members__.values():
        raise ServiceError(_("Cách tính đơn vị máu không hợp lệ."), field="counting_rule")
    if status not in PlanStatus.__members__.values():
        raise ServiceError(_("Trạng thái kế hoạch không hợp lệ."), field="status")
    if not title.strip():
        raise ServiceError(_("Trích yếu kế hoạch không được để trống."), field="title")
    # Numbers restart every year: number + symbol + year of issue identify a document.
    clash = select(Plan.id).where(
        Plan.number.in_(parsed.spellings()), extract("year", Plan.issued_on) == issued_on.year
    )
    if plan is not None and plan.id is not None:
        clash = clash.where(Plan.id != plan.id)
    if db.session.scalar(clash) is not None:
        raise ServiceError(
            _(
                "Đã có kế hoạch số %(number)s ban hành năm %(year)d.",
                number=number,
                year=issued_on.year,
            ),
            field="number",
        )
    return number


def _check_targets(targets: Targets) -> Targets:
    """Each target is optional, a whole percentage from 1 to 100."""
    for column, value in zip(TARGET_COLUMNS, targets, strict=True):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100
        ):
            raise ServiceError(_("Chỉ tiêu tỷ lệ phải là số nguyên từ 1 đến 100."), field=column)
    return targets


def _set_targets(plan: Plan, targets: Targets) -> None:
    for column, value in zip(TARGET_COLUMNS, _check_targets(targets), strict=True):
        setattr(plan, column, value)


def _check_parent(plan: Plan | None, parent: Plan | None) -> None:
    ancestor = parent
    while ancestor is not None:
        if plan is not None and ancestor.id == plan.id:
            raise ServiceError(
                _("Kế hoạch cấp trên không được là chính kế hoạch này hoặc kế hoạch cấp dưới."),
                field="parent_id",
            )
        ancestor = ancestor.parent


class Compare(Enum):
    """What a plan is compared with, when the caller names no plan."""

    #: The same issuer's plan of the year before, when there is one.
    PREVIOUS_YEAR = "previous_year"
    #: What the plan names already.
    UNCHANGED = "unchanged"


def previous_year_plan(issuer: OrgUnit, year: int, plan: Plan | None = None) -> Plan | None:
    """The issuer's plan for ``year - 1`` that a plan for ``year`` is read against: the
    last one issued, a draft only when there is nothing else."""
    query = (
        select(Plan)
        .where(Plan.issuer_id == issuer.id, Plan.year == year - 1)
        .order_by(Plan.status == PlanStatus.DRAFT.value, Plan.issued_on.desc(), Plan.id.desc())
    )
    if plan is not None and plan.id is not None:
        query = query.where(Plan.id != plan.id)
    return db.session.scalars(query.limit(1)).first()


def _compared_with(
    plan: Plan | None, compare_with: Plan | Compare | None, issuer: OrgUnit, year: int
) -> Plan | None:
    """The plan to compare ``plan`` (``None`` while being created) with."""
    if compare_with is Compare.UNCHANGED:
        return plan.compare_with if plan is not None else None
    if compare_with is Compare.PREVIOUS_YEAR:
        return previous_year_plan(issuer, year, plan)
    if compare_with is not None and plan is not None and compare_with.id == plan.id:
        raise ServiceError(
            _("Không so sánh kế hoạch với chính nó; chọn kế hoạch của năm trước."),
            field="compare_with_id",
        )
    return compare_with


@atomic
def set_comparison(plan: Plan, compare_with: Plan | None, *, user: User | None = None) -> Plan:
    """The earlier plan whose figures this plan's are read against, or none."""
    check_open(plan)
    before = audit.snapshot(plan)
    plan.compare_with = _compared_with(plan, compare_with, plan.issuer, plan.year)
    audit.record("plan.edit", plan, user=user, before=before)
    return plan


@atomic
def create_plan(
    *,
    issuer: OrgUnit,
    number: str,
    issued_on: date,
    title: str,
    year: int,
    counting_rule: str = CountingRule.BAG.value,
    parent: Plan | None = None,
    status: str = PlanStatus.ACTIVE.value,
    note: str | None = None,
    targets: Targets = NO_TARGETS,
    compare_with: Plan | Compare | None = Compare.PREVIOUS_YEAR,
    user: User | None = None,
) -> Plan:
    """A new plan; read against the issuer's plan of the year before unless the caller
    names another plan, or ``None`` for none."""
    number = _check_fields(number, issued_on, title, counting_rule, status)
    _check_targets(targets)
    if compare_with is Compare.UNCHANGED:
        compare_with = Compare.PREVIOUS_YEAR
    compared = _compared_with(None, compare_with, issuer, year)
    plan = Plan(
        note=(note or "").strip() or None,
        issuer=issuer,
        number=number,
        issued_on=issued_on,
        title=title.strip(),
        year=year,
        counting_rule=counting_rule,
        parent=parent,
        status=status,
    )
    _set_targets(plan, targets)
    plan.compare_with = compared
    db.session.add(plan)
    audit.record("plan.create", plan, user=user)
    return plan


def check_open(plan: Plan) -> None:
    """A closed plan is read-only: only reopening it (a status change) is allowed."""
    if plan.status == PlanStatus.CLOSED:
        raise ServiceError(_("Kế hoạch đã kết thúc, chỉ xem được; mở lại kế hoạch để sửa."))


@atomic
def update_plan(
    plan: Plan,
    *,
    issuer: OrgUnit,
    number: str,
    issued_on: date,
    title: str,
    year: int,
    counting_rule: str,
    parent: Plan | None = None,
    note: str | None = None,
    targets: Targets | None = None,
    compare_with: Plan | Compare | None = Compare.UNCHANGED,
    user: User | None = None,
) -> Plan:
    """Changes the plan's fields; its targets too, unless ``targets`` is ``None``."""
    check_open(plan)
    number = _check_fields(number, issued_on, title, counting_rule, plan.status, plan)
    _check_parent(plan, parent)
    if targets is not None:
        _check_targets(targets)
    compared = _compared_with(plan, compare_with, issuer, year)
    lock_stamp()  # before the plan's row, which a title alone takes without the stamp
    before = audit.snapshot(plan)
    plan.compare_with = compared
    if targets is not None:
        _set_targets(plan, targets)
    plan.issuer, plan.number, plan.issued_on = issuer, number, issued_on
    plan.title, plan.year, plan.counting_rule = title.strip(), year, counting_rule
    plan.parent, plan.note = parent, (note or "").strip() or None
    audit.record("plan.edit", plan, user=user, before=before)
    return plan


@atomic
def set_targets(plan: Plan, targets: Targets, *, user: User | None = None) -> Plan:
    """The plan's targets beyond blood units, each a whole percentage or none."""
    check_open(plan)
    _check_targets(targets)
    before = audit.snapshot(plan)
    _set_targets(plan, targets)
    audit.record("plan.edit", plan, user=user, before=before)
    return plan


@atomic
def set_status(plan: Plan, status: str, *, user: User | None = None) -> Plan:
    if status not in PlanStatus.__members__.values():
        raise ServiceError(_("Trạng thái kế hoạch không hợp lệ."), field="status")
    before = audit.snapshot(plan)
    plan.status = status
    audit.record("plan.status", plan, user=user, before=before)
    return plan


@atomic
def set_public(plan: Plan, published: bool, *, user: User | None = None) -> Plan:
    """Publishes the plan's progress at a new random address, or stops publishing it: the
    old address then answers 404 at once. The one way in for the plan page and the API.

    The address does not reveal the plan's id, and publishing again never brings an old
    address back (a poster taken down stays down). Asking for what already is changes
    nothing and records nothing."""
    if published == plan.is_public:
        return plan
    lock_stamp()  # before the plan's row, which its address takes without the stamp
    before = audit.snapshot(plan)
    old = plan.public_slug
    plan.public_slug = secrets.token_urlsafe(12) if published else None
    audit.record("plan.publish" if published else "plan.unpublish", plan, user=user, before=before)
    public.forget(old)
    return plan


@atomic
def cite_document(
    plan: Plan,
    *,
    number: str,
    issued_on: date,
    issuer: str,
    summary: str = "",
    user: User | None = None,
) -> PlanDocument:
    check_open(plan)
    if not issuer.strip():
        raise ServiceError(_("Ghi cơ quan ban hành văn bản."), field="issuer")
    document = PlanDocument(
        plan=plan,
        number=_document_number(number),
        issued_on=issued_on,
        issuer=issuer.strip(),
        summary=summary.strip(),
    )
    db.session.add(document)
    audit.record("plan.cite", document, user=user)
    return document


@atomic
def add_drive(
    plan: Plan,
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    site: str = "",
    report_due_on: date | None = None,
    user: User | None = None,
) -> Drive:
    """A new drive of ``plan``; with no deadline, the default one (its last day + 3 days)."""
    check_open(plan)
    due = _check_drive(name, starts_on, ends_on, report_due_on)
    drive = Drive(
        plan=plan,
        name=name.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        site=site,
        report_due_on=due,
    )
    db.session.add(drive)
    audit.record("drive.create", drive, user=user)
    return drive


def _check_drive(name: str, starts_on: date, ends_on: date, report_due_on: date | None) -> date:
    """Refuses a drive that cannot be; answers its report deadline."""
    if not name.strip():
        raise ServiceError(_("Ghi tên đợt hiến máu."), field="name")
    if ends_on < starts_on:
        raise ServiceError(_("Ngày kết thúc đợt hiến máu phải sau ngày bắt đầu."), field="ends_on")
    if report_due_on is None:
        return default_report_due(ends_on)
    if report_due_on < ends_on:
        raise ServiceError(
            _("Hạn báo cáo không được trước ngày kết thúc đợt hiến máu."), field="report_due_on"
        )
    return report_due_on


@atomic
def update_drive(
    drive: Drive,
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    site: str = "",
    report_due_on: date | None = None,
    user: User | None = None,
) -> Drive:
    """Changes a drive; an empty deadline becomes the default one for its new dates, and so
    does a default deadline left as it was (moving a drive moves it); one the organiser set
    stays."""
    check_open(drive.plan)
    if report_due_on == drive.report_due_on == default_report_due(drive.ends_on):
        report_due_on = None
    due = _check_drive(name, starts_on, ends_on, report_due_on)
    lock_stamp()  # before the drive's row, which its name, site or deadline take without it
    before = audit.snapshot(drive)
    drive.name, drive.starts_on, drive.ends_on, drive.site = name.strip(), starts_on, ends_on, site
    drive.report_due_on = due
    audit.record("drive.edit", drive, user=user, before=before)
    return drive


@atomic
def remove_plan(plan: Plan, *, user: User | None = None) -> None:
    """Deletes a plan made by mistake: one with no quota, no drive and no plan under it.
    The documents it cites go with it; the audit trail keeps the plan as it was."""
    check_open(plan)
    _remove_unused(
        plan,
        used_by=(
            select(Quota.id).where(Quota.plan_id == plan.id),
            select(Drive.id).where(Drive.plan_id == plan.id),
            select(Plan.id).where(Plan.parent_id == plan.id),
        ),
        refusal=_(
            "Kế hoạch đã có chỉ tiêu, đợt hiến máu hoặc kế hoạch cấp dưới nên không xóa "
            "được; hãy sửa nội dung kế hoạch."
        ),
        pending=ImportKind.QUOTAS,
        before=audit.snapshot(plan) | {"documents": [d.number for d in plan.documents]},
        action="plan.delete",
        user=user,
    )


@atomic
def remove_drive(drive: Drive, *, user: User | None = None) -> None:
    """Deletes a drive made by mistake. One with any report, even a draft, is refused:
    those are the units' work, and the figures already counted come from them."""
    check_open(drive.plan)
    _remove_unused(
        drive,
        used_by=(select(Result.id).where(Result.drive_id == drive.id),),
        refusal=_(
            "Đợt hiến máu đã có báo cáo của đơn vị nên không xóa được; hãy sửa tên hoặc ngày."
        ),
        pending=ImportKind.RESULTS,
        before=audit.snapshot(drive),
        action="drive.delete",
        user=user,
    )


def _remove_unused(
    row: Plan | Drive,
    *,
    used_by: Sequence[Select[tuple[int]]],
    refusal: str,
    pending: ImportKind,
    before: dict[str, Any],
    action: str,
    user: User | None,
) -> None:
    """Deletes ``row`` unless one of ``used_by`` finds anything, with the files uploaded
    for it and not yet confirmed (they have nowhere to go).

    What refers to a plan or a drive cascades with it, so nothing may slip in between the
    check and the delete. The row is locked first: on PostgreSQL a quota or report being
    saved holds a key-share lock on it, so FOR UPDATE waits for that save to commit (and
    the check then sees it), and a save that starts later waits for us, then fails its
    foreign key. SQLite's writers already take turns (BEGIN IMMEDIATE).
    """
    model = type(row)
    lock_stamp()  # first, as a quota or report being saved takes it before the row
    db.session.execute(select(model.id).where(model.id == row.id).with_for_update())
    if any(db.session.scalar(query.limit(1)) is not None for query in used_by):
        raise ServiceError(refusal)
    db.session.execute(
        delete(PendingImport).where(
            PendingImport.kind == pending.value, PendingImport.target_id == row.id
        )
    )
    audit.record(action, row, user=user, before=before)
    if isinstance(row, Plan):
        public.forget(row.public_slug)
    db.session.delete(row)
    db.session.flush()


@atomic
def remove_document(document: PlanDocument, *, user: User | None = None) -> None:
    check_open(document.plan)
    audit.record("plan.uncite", document, user=user, before=audit.snapshot(document))
    db.session.delete(document)


#: A quota as :func:`set_quotas` reads and audits it: (amount, headcount).
Stored = tuple[int, int | None]


def _by_id(values: Mapping[Any, Any]) -> dict[int, Any]:
    return {(key.id if isinstance(key, OrgUnit) else key): value for key, value in values.items()}


def _check_count(value: int | None, field: str, message: Callable[[], str]) -> None:
    """``message`` is translated only when the value is refused: a file checks thousands."""
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ServiceError(message(), field=field)
    if value > MAX_COUNT:
        raise ServiceError(too_large(), field=field)


@atomic
def set_quotas(
    plan: Plan,
    amounts: Mapping[OrgUnit, int | None] | Mapping[int, int | None],
    *,
    headcounts: Mapping[OrgUnit, int | None] | Mapping[int, int | None] | None = None,
    user: User | None = None,
    one_entry: bool = False,
) -> int:
    """Sets the quotas of the given units (or unit ids), all or nothing: every value is
    checked first, then written in a few statements. The one write path of the grid, the
    API and the file import. Returns how many quotas were written.

    ``None`` removes the unit's quota (an emptied field in the grid); a quota set to
    what it already is stays untouched. ``headcounts`` sets the headcount of units given
    a quota (``None`` clears it); a unit not in it keeps its headcount. Each quota
    changed or removed gets an audit entry; so does each new one, unless ``one_entry``:
    a file import lists what it added once, on the plan (a row per new quota would double
    the rows it writes).
    """
    check_open(plan)
    wanted, heads = _by_id(amounts), _by_id(headcounts or {})
    for unit_id, amount in wanted.items():
        _check_count(amount, str(unit_id), lambda: _("Chỉ tiêu phải là số nguyên không âm."))
    for unit_id, headcount in heads.items():
        _check_count(headcount, str(unit_id), lambda: _("Quân số phải là số nguyên không âm."))
        if headcount is not None and wanted.get(unit_id) is None:
            raise ServiceError(
                _("Quân số chỉ ghi được cho đơn vị có chỉ tiêu (có thể là 0)."), field=str(unit_id)
            )
    existing: dict[int, tuple[int, Stored]] = {
        unit_id: (quota_id, (amount, headcount))
        for quota_id, unit_id, amount, headcount in db.session.execute(
            select(Quota.id, Quota.unit_id, Quota.amount, Quota.headcount).where(
                Quota.plan_id == plan.id
            )
        )
    }
    after: dict[int, Stored] = {
        u: (a, heads[u] if u in heads else existing[u][1][1] if u in existing else None)
        for u, a in wanted.items()
        if a is not None
    }
    new = {u: v for u, v in after.items() if u not in existing}
    changed = {u: v for u, v in after.items() if u in existing and v != existing[u][1]}
    removed = [u for u, a in wanted.items() if u in existing and a is None]
    if new:
        rows = [
            {"plan_id": plan.id, "unit_id": u, "amount": a, "headcount": h}
            for u, (a, h) in new.items()
        ]
        db.session.execute(insert(Quota.__table__), rows)
    if changed:
        rows = [
            {"id": existing[u][0], "amount": a, "headcount": h} for u, (a, h) in changed.items()
        ]
        db.session.execute(update(Quota), rows)
    if removed:
        db.session.execute(delete(Quota).where(Quota.id.in_([existing[u][0] for u in removed])))

    def snapshot(quota_id: int, unit_id: int, stored: Stored) -> dict[str, int | None]:
        amount, headcount = stored
        return {
            "id": quota_id,
            "plan_id": plan.id,
            "unit_id": unit_id,
            "amount": amount,
            "headcount": headcount,
        }

    def was(unit_id: int) -> dict[str, int | None]:
        return snapshot(existing[unit_id][0], unit_id, existing[unit_id][1])

    entries: list[tuple[int, dict[str, Any] | None, dict[str, Any]]] = [
        (existing[u][0], was(u), snapshot(existing[u][0], u, v)) for u, v in changed.items()
    ]
    if new and not one_entry:
        query = select(Quota.unit_id, Quota.id).where(
            Quota.plan_id == plan.id, Quota.unit_id.in_(new)
        )
        ids = {unit_id: quota_id for unit_id, quota_id in db.session.execute(query)}
        entries += [(ids[u], None, snapshot(ids[u], u, v)) for u, v in new.items()]
    audit.record_many("quota.set", "quota", entries, user=user)
    audit.record_many(
        "quota.remove", "quota", [(existing[u][0], was(u), {}) for u in removed], user=user
    )
    if one_entry:
        written = {u: a for u, (a, _h) in {**new, **changed}.items()}
        audit.record(
            "quota.import", plan, user=user, after=audit.import_summary(written, len(changed))
        )
    _expire(Quota)
    return len(new) + len(changed) + len(removed)


def _expire(model: type) -> None:
    """Rows written in bulk bypass the objects this session holds: reload them when used."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, model):
            db.session.expire(obj)


def find_plan(ref: str, year: int | None = None) -> Plan:
    """A plan by id or by its number as written ("276/KH-BCĐTH"), with ``year`` of issue."""
    ref = ref.strip()
    plan_id = parse_id(ref)
    if plan_id is not None:
        plan = db.session.get(Plan, plan_id)
        if plan is None:
            raise NotFound(_("Không có kế hoạch %(ref)s.", ref=ref))
        return plan
    query = select(Plan).where(Plan.number.in_(_parsed_number(ref).spellings()))
    if year is not None:
        query = query.where(extract("year", Plan.issued_on) == year)
    found = db.session.scalars(query).all()
    if not found:
        raise NotFound(_("Không có kế hoạch %(ref)s.", ref=ref))
    if len(found) > 1:
        years = ", ".join(str(p.issued_on.year) for p in found)
        raise ServiceError(
            _("Có nhiều kế hoạch số %(ref)s (năm %(years)s); hãy ghi --year.", ref=ref, years=years)
        )
    return found[0]


def grid_units(plan: Plan) -> list[TreeRow]:
    """Who the plan can give a quota to: the units below its issuer valid on its date,
    and any unit already holding one (a unit merged away still shows its old quota)."""
    below = subtree_ids(select(OrgUnit.id).where(OrgUnit.id == plan.issuer_id))
    holders = select(Quota.unit_id).where(Quota.plan_id == plan.id)
    found = db.session.scalars(
        select(OrgUnit).where(
            OrgUnit.id != plan.issuer_id, or_(OrgUnit.id.in_(below), OrgUnit.id.in_(holders))
        )
    ).all()
    held = set(db.session.scalars(holders))
    keep = [u for u in found if u.is_valid_on(plan.issued_on) or u.id in held]
    return tree_rows(sorted(keep, key=lambda u: sort_key(u.name)))


def quotas_and_headcounts(plan: Plan) -> tuple[dict[int, int], dict[int, int]]:
    """The plan's quotas by unit id, and the headcounts it records."""
    return plan_quotas_and_headcounts(plan.id)


def quotas_of(plan: Plan) -> dict[int, int]:
    """Unit id -> quota, as the summary reads them."""
    return plan_quotas(plan.id)


def copied_quotas(source: Plan, unit_ids: Iterable[int]) -> dict[int, int]:
    """``source``'s quotas for the given units, to start a grid from last year's.

    A unit merged since then hands its quota to the unit it merged into, so the
    2025 communes start from the sum of the old ones.
    """
    wanted = set(unit_ids)
    merged = {
        unit_id: into
        for unit_id, into in db.session.execute(
            select(OrgUnit.id, OrgUnit.merged_into_id).where(OrgUnit.merged_into_id.is_not(None))
        ).tuples()
        if into is not None
    }
    copied: dict[int, int] = {}
    for unit_id, amount in quotas_of(source).items():
        seen = set()
        while unit_id not in wanted and unit_id in merged and unit_id not in seen:
            seen.add(unit_id)
            unit_id = merged[unit_id]
        if unit_id in wanted:
            copied[unit_id] = copied.get(unit_id, 0) + amount
    return copied


@dataclass(frozen=True)
class Allocation:
    #: What the parent plan gave the issuer, or ``None`` without a parent plan or quota.
    given: int | None
    #: Σ of the grid's quotas, counting nothing twice (rates.totals).
    allocated: int

    @property
    def gap(self) -> int | None:
        return None if self.given is None else self.given - self.allocated


def allocation(plan: Plan, rows: Sequence[TreeRow], amounts: Mapping[int, int]) -> Allocation:
    """The allocation check: the grid's total against the parent plan's quota for the issuer."""
    nodes = [
        UnitNode(r.unit.id, r.unit.parent_id, r.unit.code, r.unit.name, r.unit.kind) for r in rows
    ]
    known = {n.id for n in nodes}
    summary = summarize(nodes, {k: v for k, v in amounts.items() if k in known}, {}, plan.rule)
    given = None
    if plan.parent_id is not None:
        given = db.session.scalar(
            select(Quota.amount).where(
                Quota.plan_id == plan.parent_id, Quota.unit_id == plan.issuer_id
            )
        )
    return Allocation(given, summary.totals.quota)
