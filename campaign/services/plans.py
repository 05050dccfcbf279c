"""Plans, their cited documents, drives and quotas."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import extract, select

from campaign.documents import InvalidDocumentNumber, parse_document_number
from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Plan, PlanDocument, PlanStatus, Quota, User
from campaign.rates import CountingRule
from campaign.services import audit
from campaign.services.errors import NotFound, ServiceError


def _document_number(text: str) -> str:
    try:
        return str(parse_document_number(text))
    except InvalidDocumentNumber as error:
        raise ServiceError(str(error), field="number") from error


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
    user: User | None = None,
) -> Plan:
    number = _document_number(number)
    if counting_rule not in CountingRule.__members__.values():
        raise ServiceError(_("Cách tính đơn vị máu không hợp lệ."), field="counting_rule")
    if status not in PlanStatus.__members__.values():
        raise ServiceError(_("Trạng thái kế hoạch không hợp lệ."), field="status")
    if not title.strip():
        raise ServiceError(_("Trích yếu kế hoạch không được để trống."), field="title")
    # Numbers restart every year: number + symbol + year of issue identify a document.
    clash = select(Plan.id).where(
        Plan.number == number, extract("year", Plan.issued_on) == issued_on.year
    )
    if db.session.scalar(clash) is not None:
        raise ServiceError(
            _(
                "Đã có kế hoạch số %(number)s ban hành năm %(year)d.",
                number=number,
                year=issued_on.year,
            ),
            field="number",
        )
    plan = Plan(
        issuer=issuer,
        number=number,
        issued_on=issued_on,
        title=title.strip(),
        year=year,
        counting_rule=counting_rule,
        parent=parent,
        status=status,
    )
    db.session.add(plan)
    audit.record("plan.create", plan, user=user)
    return plan


def cite_document(
    plan: Plan,
    *,
    number: str,
    issued_on: date,
    issuer: str,
    summary: str = "",
    user: User | None = None,
) -> PlanDocument:
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


def add_drive(
    plan: Plan,
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    site: str = "",
    user: User | None = None,
) -> Drive:
    if ends_on < starts_on:
        raise ServiceError(_("Ngày kết thúc đợt hiến máu phải sau ngày bắt đầu."), field="ends_on")
    drive = Drive(plan=plan, name=name.strip(), starts_on=starts_on, ends_on=ends_on, site=site)
    db.session.add(drive)
    audit.record("drive.create", drive, user=user)
    return drive


def set_quotas(plan: Plan, amounts: Mapping[OrgUnit, int], user: User | None = None) -> None:
    """Sets the given units' quotas, all or nothing: every value is checked first."""
    if plan.status == PlanStatus.CLOSED:
        raise ServiceError(_("Kế hoạch đã kết thúc, không sửa được chỉ tiêu."))
    for unit, amount in amounts.items():
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise ServiceError(
                _("Chỉ tiêu của %(name)s phải là số nguyên không âm.", name=unit.name)
            )
    existing = {
        q.unit_id: q for q in db.session.scalars(select(Quota).where(Quota.plan_id == plan.id))
    }
    for unit, amount in amounts.items():
        quota = existing.get(unit.id)
        if quota is None:
            quota = Quota(plan=plan, unit=unit, amount=amount)
            db.session.add(quota)
            audit.record("quota.set", quota, user=user)
        elif quota.amount != amount:
            before = audit.snapshot(quota)
            quota.amount = amount
            audit.record("quota.set", quota, user=user, before=before)


def find_plan(ref: str, year: int | None = None) -> Plan:
    """A plan by id or by its number as written ("276/KH-BCĐTH"), with ``year`` of issue."""
    ref = ref.strip()
    if ref.isdigit():
        plan = db.session.get(Plan, int(ref))
        if plan is None:
            raise NotFound(_("Không có kế hoạch %(ref)s.", ref=ref))
        return plan
    query = select(Plan).where(Plan.number == _document_number(ref))
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
