"""The summary workbook of a plan, as the leaders take it to meetings."""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale

from campaign import labels
from campaign.formatting import vietnam_today
from campaign.models import Plan
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
    return f"BCĐ vận động HMTN {unit_name[:1].lower()}{unit_name[1:]}"


def summary_export(plan: Plan, day: date | None = None) -> bytes:
    """Five queries (the summary's four, counted by month too, and the drive detail) whatever
    the plan's size; four more for the plan it is compared with."""
    summary, units, monthly = read_plan_and_months(plan)
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
    committee = steering_committee(plan.issuer.name)
    info = ReportInfo(
        issuer=committee,
        place=place_name(plan.issuer.name),
        day=day or vietnam_today(),
        plan_number=plan.number,
        plan_issued_on=plan.issued_on,
        plan_issuer=committee,
        plan_title=plan.title,
        rule_label=rule_label,
        targets=plan.targets,
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
