"""The summary workbook of a plan, as the leaders take it to meetings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import aliased

from campaign import labels
from campaign.documents import InvalidDocumentNumber, parse_document_number
from campaign.extensions import db
from campaign.formatting import vietnam_today
from campaign.memory import bulk_reading
from campaign.models import OrgUnit, Plan
from campaign.services.plans import grid_units
from campaign.services.summary import (
    comparison,
    drive_tallies,
    plan_progress,
    plan_quotas_and_headcounts,
    read_plan_and_months,
)
from campaign.spreadsheets.summary import DriveLine, ReportInfo, summary_workbook
from campaign.spreadsheets.templates import TemplateRow, quota_template

#: Words that open a unit's name and are not part of the place name.
_KIND_WORDS = ("thành phố ", "thị trấn ", "thị xã ", "tỉnh ", "huyện ", "xã ", "phường ")


def place_name(unit_name: str) -> str:
    """ "Huyện Quảng Xương" -> "Quảng Xương", for the date line of a report."""
    lowered = unit_name.lower()
    for word in _KIND_WORDS:
        if lowered.startswith(word):
            return unit_name[len(word) :].strip()
    return unit_name


def steering_committee(unit_name: str) -> str:
    return f"BCĐ vận động HMTN {_lower_first(unit_name)}"


#: Units governed by a People's Committee (UBND), under which their steering committee sits.
_ADMINISTRATIVE = {"province", "district", "commune", "ward", "special_zone", "town"}


@dataclass(frozen=True)
class Heading:
    """The names a report's header needs, read in one query."""

    issuer: str
    issuer_kind: str
    #: The unit above the issuer, if any.
    above: str | None
    #: The issuer of the plan above this one, if any.
    parent_plan_issuer: str | None

    @property
    def parent_body(self) -> str:
        """The body above the issuing committee: the People's Committee of an
        administrative unit ("UBND huyện Quảng Xương"), else the unit above, if any."""
        if self.issuer_kind in _ADMINISTRATIVE:
            return f"UBND {_lower_first(self.issuer)}"
        return self.above or ""

    @property
    def recipient(self) -> str:
        """Whom the report goes to: the committee that issued the plan above, else the one
        above the issuer; nobody known leaves the line to fill in."""
        above = self.parent_plan_issuer or self.above
        return steering_committee(above) if above else ""


def heading(plan: Plan) -> Heading:
    issuer, above, parent_plan = aliased(OrgUnit), aliased(OrgUnit), aliased(Plan)
    parent_issuer = aliased(OrgUnit)
    row = db.session.execute(
        select(issuer.name, issuer.kind, above.name, parent_issuer.name)
        .select_from(issuer)
        .outerjoin(above, above.id == issuer.parent_id)
        .outerjoin(parent_plan, parent_plan.id == plan.parent_id)
        .outerjoin(parent_issuer, parent_issuer.id == parent_plan.issuer_id)
        .where(issuer.id == plan.issuer_id)
    ).one()
    return Heading(*row)


def _lower_first(name: str) -> str:
    return f"{name[:1].lower()}{name[1:]}"


def issuer_symbol(number: str) -> str:
    """ "276/KH-BCĐTH" -> "BCĐTH", for the report's own number "…/BC-BCĐTH"."""
    try:
        return parse_document_number(number).issuer
    except InvalidDocumentNumber:
        return ""


@bulk_reading()
def summary_export(plan: Plan, day: date | None = None) -> bytes:
    """Six queries (the summary's five, counted by month too, and the drive detail) whatever
    the plan's size; five more for the plan it is compared with."""
    summary, units, monthly = read_plan_and_months(plan, compared=True)
    _quota, months = plan_progress(plan, summary, units, day or vietnam_today(), None, monthly)
    detail = [
        DriveLine(drive.name, unit.name, unit.kind, tally, tally.collected(plan.rule))
        for drive, unit, tally in drive_tallies(plan)
    ]
    # The report is an official Vietnamese document, whatever the interface language.
    with force_locale("vi"):
        kinds = {code: str(name) for code, name in labels.UNIT_KIND.items()}
        statuses = {code: str(name) for code, name in labels.STATUS.items()}
        rule_label = plan.rule_label
    names = heading(plan)
    committee = steering_committee(names.issuer)
    info = ReportInfo(
        issuer=committee,
        place=place_name(names.issuer),
        day=day or vietnam_today(),
        plan_number=plan.number,
        plan_issued_on=plan.issued_on,
        plan_issuer=committee,
        plan_title=plan.title,
        rule_label=rule_label,
        targets=plan.targets,
        parent_body=names.parent_body,
        symbol=issuer_symbol(plan.number),
        recipient=names.recipient,
        compared_year=plan.compare_with.year if plan.compare_with else None,
        compared=comparison(plan, summary),
    )
    return summary_workbook(info, summary, detail, kinds, statuses, months, plan.year)


def export_filename(plan: Plan) -> str:
    safe = "".join(c if c.isalnum() else "-" for c in plan.number)
    return f"bao-cao-{safe}-{plan.issued_on.year}.xlsx"


def quota_template_export(plan: Plan) -> bytes:
    """The units the quota grid lists (every unit below the issuer valid on the plan's date,
    and any unit already holding a quota), in the same tree order, with any quota set."""
    quotas, headcounts = plan_quotas_and_headcounts(plan.id)
    rows = [
        TemplateRow(
            row.unit.code,
            row.unit.name,
            quotas.get(row.unit.id),
            row.depth,
            headcounts.get(row.unit.id),
        )
        for row in grid_units(plan)
    ]
    title = f"CHỈ TIÊU HIẾN MÁU TÌNH NGUYỆN - KẾ HOẠCH SỐ {plan.number}"
    return quota_template(title, rows)
