"""The API's views: parse, ask the scope, call a service, answer JSON."""

from __future__ import annotations

from io import BytesIO
from typing import Any, TypeVar

from flask import abort, current_app, g, request, send_file
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from campaign.api import schemas as s
from campaign.api.errors import ErrorSchema, handle_http_exception, handle_service_error
from campaign.api.parsing import Blueprint
from campaign.auth import access
from campaign.database import READ_ONLY_METHODS
from campaign.extensions import csrf, db
from campaign.formatting import vietnam_today
from campaign.memory import bulk_reading
from campaign.models import TARGET_COLUMNS, Drive, OrgUnit, Plan, PlanStatus, Quota, Result, User
from campaign.numbers import parse_id
from campaign.rates import Targets, UnitTree, display_units
from campaign.services import exports, plans, reporting, results, summary, tokens, units
from campaign.services.errors import Forbidden, NotFound, ServiceError
from campaign.services.scope import Scope
from campaign.spreadsheets import XLSX_MIMETYPE as XLSX

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Hiến máu tình nguyện")
bp.register_error_handler(HTTPException, handle_http_exception)
bp.register_error_handler(ServiceError, handle_service_error)

M = TypeVar("M")


@bp.before_request
def authenticate() -> None:
    """A bearer token, or else the session cookie (which then needs a CSRF token to write)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        user = tokens.authenticate(token.strip()) if scheme.lower() == "bearer" else None
    elif current_user.is_authenticated:
        user = current_user._get_current_object()
        unsafe = request.method not in READ_ONLY_METHODS
        if unsafe and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
    else:
        user = None
    if user is None:
        abort(401)
    g.api_user = user
    g.scope = Scope(user)


def scope() -> Scope:
    return g.scope


def user() -> User:
    return g.api_user


def require(allowed: bool) -> None:
    """403 unless ``allowed``, refused in the token owner's name."""
    access.require(allowed, user())


def get_or_404(model: type[M], ident: int) -> M:
    found = db.session.get(model, ident)  # the route's converter bounds ``ident``
    if found is None:
        abort(404)
    return found


def unit_in_body(code: str, field: str) -> OrgUnit:
    """A unit named in a request body: unknown is invalid input (422), not a missing page.
    A unit outside the caller's scope is unknown too, so no answer tells that it exists."""
    try:
        return units.by_code(code, visible=scope().can_see_unit)
    except NotFound as error:
        raise ServiceError(error.message, field=field) from error


def paginate(query: Select[Any], args: dict[str, Any]) -> dict[str, Any]:
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}


# --- units ---------------------------------------------------------------------


@bp.get("/units")
@bp.arguments(s.UnitListArgs, location="query", as_kwargs=True)
@bp.response(200, s.UnitPage)
def list_units(
    parent: str | None = None, official_code: str | None = None, **page: int
) -> dict[str, Any]:
    """Units in the caller's scope, by code; ``?parent=CODE`` for one unit's children,
    ``?official_code=`` for the units with that official code."""
    query = (
        select(OrgUnit)
        .where(OrgUnit.id.in_(scope().unit_ids()))
        .options(selectinload(OrgUnit.parent), selectinload(OrgUnit.merged_into))
        .order_by(OrgUnit.code)
    )
    if parent is not None:
        parent_unit = units.by_code(parent, visible=scope().can_see_unit)
        query = query.where(OrgUnit.parent_id == parent_unit.id)
    if official_code is not None:
        query = query.where(OrgUnit.official_code == official_code.strip())
    return paginate(query, page)


@bp.post("/units")
@bp.arguments(s.UnitIn)
@bp.response(201, s.UnitSchema)
def create_unit(data: dict[str, Any]) -> OrgUnit:
    parent_code = data.pop("parent_code")
    parent = unit_in_body(parent_code, "parent_code") if parent_code is not None else None
    try:
        return units.create_unit(parent=parent, scope=scope(), **data)
    except Forbidden:
        require(False)
        raise


# --- plans ---------------------------------------------------------------------


@bp.get("/plans")
@bp.arguments(s.PlanListArgs, location="query", as_kwargs=True)
@bp.response(200, s.PlanPage)
def list_plans(year: int | None = None, **page: int) -> dict[str, Any]:
    """Plans the caller may see, newest first; ``?year=`` for one campaign year."""
    query = (
        scope()
        .plans()
        .options(selectinload(Plan.issuer))
        .order_by(Plan.year.desc(), Plan.issued_on.desc(), Plan.id.desc())
    )
    if year is not None:
        query = query.where(Plan.year == year)
    return paginate(query, page)


@bp.post("/plans")
@bp.arguments(s.PlanIn)
@bp.response(201, s.PlanSchema)
def create_plan(data: dict[str, Any]) -> Plan:
    issuer = unit_in_body(data.pop("issuer_code"), "issuer_code")
    parent_id = data.pop("parent_id")
    parent = db.session.get(Plan, parent_id) if parent_id is not None else None
    if parent_id is not None and (parent is None or not scope().can_see_plan(parent)):
        raise ServiceError(_("Không có kế hoạch số %(id)s.", id=parent_id), field="parent_plan_id")
    require(scope().can_issue_plan(issuer))
    targets = targets_of(data.pop("targets"))
    compare_with: Plan | plans.Compare | None = plans.Compare.PREVIOUS_YEAR
    if "compare_with_id" in data:
        compare_with = compared_plan(data.pop("compare_with_id"))
    return plans.create_plan(
        issuer=issuer,
        parent=parent,
        targets=targets,
        compare_with=compare_with,
        user=user(),
        **data,
    )


def compared_plan(plan_id: int | None) -> Plan | None:
    """The plan a body names to compare with: one the caller may see, or none."""
    if plan_id is None:
        return None
    plan = db.session.get(Plan, plan_id)
    if plan is None or not scope().can_see_plan(plan):
        raise ServiceError(
            _("Không có kế hoạch số %(id)s.", id=plan_id), field="compare_with_plan_id"
        )
    return plan


def targets_of(data: dict[str, Any]) -> Targets:
    return Targets(*(data.get(column) for column in TARGET_COLUMNS))


def visible_plan(plan_id: int) -> Plan:
    plan = get_or_404(Plan, plan_id)
    require(scope().can_see_plan(plan))
    return plan


def managed_plan(plan_id: int) -> Plan:
    plan = get_or_404(Plan, plan_id)
    require(scope().can_manage_plan(plan))
    return plan


@bp.get("/plans/<int:plan_id>")
@bp.response(200, s.PlanSchema)
def get_plan(plan_id: int) -> Plan:
    return visible_plan(plan_id)


@bp.patch("/plans/<int:plan_id>")
@bp.arguments(s.PlanPatch)
@bp.response(200, s.PlanSchema)
def update_plan(data: dict[str, Any], plan_id: int) -> Plan:
    """Sets the plan's status, targets and compared plan, and publishes its progress
    (``{"public": true}``) or stops publishing it; the plan's organisers only. A closed
    plan takes only a status that reopens it."""
    plan = managed_plan(plan_id)
    status = data.get("status")
    closing = status == PlanStatus.CLOSED.value
    if status is not None and not closing:  # reopened first, so the rest may change
        plans.set_status(plan, status, user=user())
    if "compare_with_id" in data:
        compared = compared_plan(data["compare_with_id"])
        plans.set_comparison(plan, compared, user=user())
    if "targets" in data:
        plans.set_targets(plan, targets_of(data["targets"]), user=user())
    if "public" in data:
        plans.set_public(plan, data["public"], user=user())
    if closing:  # closed last, once the rest is changed
        plans.set_status(plan, PlanStatus.CLOSED.value, user=user())
    return plan


@bp.get("/plans/<int:plan_id>/quotas")
@bp.arguments(s.PageArgs, location="query", as_kwargs=True)
@bp.response(200, s.QuotaPage)
def list_quotas(plan_id: int, **page: int) -> dict[str, Any]:
    plan = visible_plan(plan_id)
    query = (
        select(Quota)
        .where(Quota.plan_id == plan.id)
        .options(selectinload(Quota.unit))
        .join(OrgUnit, OrgUnit.id == Quota.unit_id)
        .order_by(OrgUnit.code)
    )
    listed = paginate(query, page)
    listed["items"] = [
        {
            "unit_code": q.unit.code,
            "unit_name": q.unit.name,
            "quota": q.amount,
            "headcount": q.headcount,
        }
        for q in listed["items"]
    ]
    return listed


@bp.put("/plans/<int:plan_id>/quotas")
@bp.arguments(s.QuotaSchema(many=True))
@bp.response(200, s.QuotaPage)
def set_quotas(data: list[dict[str, Any]], plan_id: int) -> dict[str, Any]:
    """Sets the listed units' quotas, all or nothing; other units' quotas stay as they are."""
    plan = managed_plan(plan_id)
    amounts: dict[OrgUnit, int] = {}
    headcounts: dict[OrgUnit, int | None] = {}
    for index, row in enumerate(data):
        unit = unit_in_body(row["unit_code"], f"{index}.unit_code")
        if unit in amounts:
            raise ServiceError(
                _("Đơn vị %(code)s có mặt hai lần.", code=unit.code), field=f"{index}.unit_code"
            )
        require(scope().can_see_unit(unit))
        amounts[unit] = row["quota"]
        if "headcount" in row:
            headcounts[unit] = row["headcount"]
    plans.set_quotas(plan, amounts, headcounts=headcounts, user=user())
    written = select(Quota.unit_id, Quota.headcount).where(
        Quota.plan_id == plan.id, Quota.unit_id.in_([u.id for u in amounts])
    )
    stored = dict(db.session.execute(written).tuples().all())
    items = [
        {"unit_code": u.code, "unit_name": u.name, "quota": q, "headcount": stored.get(u.id)}
        for u, q in amounts.items()
    ]
    return {"items": items, "total": len(items), "page": 1, "per_page": max(len(items), 1)}


# --- drives --------------------------------------------------------------------


@bp.get("/plans/<int:plan_id>/drives")
@bp.arguments(s.PageArgs, location="query", as_kwargs=True)
@bp.response(200, s.DrivePage)
def list_drives(plan_id: int, **page: int) -> dict[str, Any]:
    plan = visible_plan(plan_id)
    query = select(Drive).where(Drive.plan_id == plan.id).order_by(Drive.starts_on, Drive.id)
    return paginate(query, page)


@bp.post("/plans/<int:plan_id>/drives")
@bp.arguments(s.DriveSchema)
@bp.response(201, s.DriveSchema)
def create_drive(data: dict[str, Any], plan_id: int) -> Drive:
    plan = managed_plan(plan_id)
    return plans.add_drive(plan, user=user(), **data)


@bp.patch("/drives/<int:drive_id>")
@bp.arguments(s.DrivePatch)
@bp.response(200, s.DriveSchema)
def update_drive(data: dict[str, Any], drive_id: int) -> Drive:
    """Changes a drive's name, dates, site or report deadline; the plan's organisers only.
    A deadline left at its default moves with the drive's dates, as on the drive's page."""
    drive = visible_drive(drive_id)
    managed_plan(drive.plan_id)
    current = {name: getattr(drive, name) for name in s.DrivePatch().fields}
    return plans.update_drive(drive, user=user(), **{**current, **data})


# --- results -------------------------------------------------------------------


def visible_drive(drive_id: int) -> Drive:
    drive = get_or_404(Drive, drive_id)
    require(scope().can_see_drive(drive))
    return drive


def unit_in_path(code: str) -> OrgUnit:
    """404 for a unit outside the caller's scope as for an unknown code: no existence oracle."""
    if "\x00" in code:
        abort(404)
    return units.by_code(code, visible=scope().can_see_unit)


def stored_result(drive: Drive, unit: OrgUnit) -> Result:
    result = results.find(drive, unit)
    if result is None:
        abort(404)
    return result


def expected_version(if_match: str | None) -> int | None:
    """``If-Match: 3`` or ``If-Match: "3"`` (an ETag as we send it)."""
    if if_match is None:
        return None
    version = parse_id(if_match.strip().removeprefix("W/").strip('"'))
    if version is None:
        raise ServiceError(_("If-Match phải là số phiên bản của báo cáo."), field="If-Match")
    return version


@bp.get("/drives/<int:drive_id>/results")
@bp.arguments(s.PageArgs, location="query", as_kwargs=True)
@bp.response(200, s.ResultPage)
def list_results(drive_id: int, **page: int) -> dict[str, Any]:
    """The drive's results of the units in the caller's scope."""
    drive = visible_drive(drive_id)
    query = (
        select(Result)
        .where(Result.drive_id == drive.id, Result.unit_id.in_(scope().unit_ids()))
        .options(selectinload(Result.unit))
        .join(OrgUnit, OrgUnit.id == Result.unit_id)
        .order_by(OrgUnit.code)
    )
    return paginate(query, page)


@bp.put("/drives/<int:drive_id>/results/<unit_code>")
@bp.arguments(s.IfMatchArgs, location="headers", as_kwargs=True)
@bp.arguments(s.ResultSchema)
@bp.response(200, s.ResultSchema)
@bp.alt_response(201, schema=s.ResultSchema, description="Created")
@bp.alt_response(409, schema=ErrorSchema, description="Stale If-Match: the report changed since")
def save_result(
    data: dict[str, Any], drive_id: int, unit_code: str, if_match: str | None = None
) -> tuple[Result, int, dict[str, str]]:
    """Creates or updates a unit's result; an update sends ``If-Match: <version>``."""
    drive = visible_drive(drive_id)
    unit = unit_in_path(unit_code)
    require(scope().can_report(unit))
    if not scope().is_open_for(drive, unit):
        abort(404)  # as the report page answers: a draft plan's drive takes no report yet
    created = results.find(drive, unit) is None
    submit = data.pop("submit")
    result = results.save(
        drive,
        unit,
        results.Counts(**data),
        user=user(),
        expected_version=expected_version(if_match),
        submit=submit,
    )
    return result, 201 if created else 200, {"ETag": f'"{result.version}"'}


@bp.post("/drives/<int:drive_id>/results/<unit_code>/approve")
@bp.arguments(s.ReviewIfMatchArgs, location="headers", as_kwargs=True)
@bp.response(200, s.ResultSchema)
@bp.alt_response(409, schema=ErrorSchema, description="Stale If-Match: the report changed since")
def approve_result(
    drive_id: int, unit_code: str, if_match: str | None = None
) -> tuple[Result, int, dict[str, str]]:
    """Approves a submitted report; ``If-Match: <version>`` approves only what was read."""
    result = reviewed_result(drive_id, unit_code)
    results.approve(result, user=user(), expected_version=expected_version(if_match))
    return result, 200, {"ETag": f'"{result.version}"'}


@bp.post("/drives/<int:drive_id>/results/<unit_code>/return")
@bp.arguments(s.ReviewIfMatchArgs, location="headers", as_kwargs=True)
@bp.arguments(s.ReturnSchema)
@bp.response(200, s.ResultSchema)
@bp.alt_response(409, schema=ErrorSchema, description="Stale If-Match: the report changed since")
def return_result(
    data: dict[str, Any], drive_id: int, unit_code: str, if_match: str | None = None
) -> tuple[Result, int, dict[str, str]]:
    """Returns a submitted report with the reason; ``If-Match`` as for approving."""
    result = reviewed_result(drive_id, unit_code)
    results.return_for_correction(
        result, data["reason"], user=user(), expected_version=expected_version(if_match)
    )
    return result, 200, {"ETag": f'"{result.version}"'}


@bp.get("/drives/<int:drive_id>/reporting")
@bp.response(200, s.ReportingSchema)
def drive_reporting(drive_id: int) -> dict[str, Any]:
    """Reporting rate and timeliness of the drive's reports from the caller's units."""
    drive = visible_drive(drive_id)
    made = reporting.drive_reporting(drive, scope().units_of_plan(drive.plan), vietnam_today())
    t = made.totals
    return {
        "expected": t.expected,
        "received": t.received,
        "on_time": t.on_time,
        "late": t.late,
        "overdue": t.overdue,
        "units": [
            {
                "code": row.unit.code,
                "name": row.unit.name,
                "state": row.timeliness.state.value,
                "submitted_at": row.submitted_at,
                "days_late": row.timeliness.days_late,
            }
            for row in made.units
        ],
    }


def reviewed_result(drive_id: int, unit_code: str) -> Result:
    result = stored_result(visible_drive(drive_id), unit_in_path(unit_code))
    require(scope().can_review(result))
    return result


# --- summary -------------------------------------------------------------------


@bp.get("/plans/<int:plan_id>/summary")
@bp.arguments(s.SummaryArgs, location="query", as_kwargs=True)
@bp.response(200, s.SummarySchema)
@bulk_reading()
def plan_summary(
    plan_id: int,
    approved_only: bool = False,
    page: int | None = None,
    per_page: int | None = None,
) -> dict[str, Any]:
    """Every quota holder's figures and the plan's totals, as ``rates`` makes them; with
    ``page`` (and ``per_page``, 1000 at most, 1000 by default), one page of the units. A
    plan of more than 1000 units always comes a page at a time: a national plan's every
    unit was 40 MB of JSON made in 15 s, at every request."""
    plan = visible_plan(plan_id)
    made = summary.plan_summary(plan, approved_only=approved_only, compared=True)
    paging: dict[str, int] = {}
    among = None
    if page is not None or per_page is not None or len(made.lines) > s.SUMMARY_PAGE:
        paging = {"page": page or 1, "per_page": per_page or s.SUMMARY_PAGE}
        among = [line.unit.id for line in summary.page_of(made.lines, **paging)]
    compared = summary.comparison(plan, made, approved_only, among=among)
    figures = summary.figures(made, plan.targets, compared, **paging)
    return {"plan": plan, "counting_rule": made.rule.value, **figures, **paging}


@bp.get("/plans/<int:plan_id>/progress")
@bp.arguments(s.ProgressArgs, location="query", as_kwargs=True)
@bp.response(200, s.ProgressSchema)
@bulk_reading()
def plan_progress(plan_id: int, unit: str | None = None) -> dict[str, Any]:
    """Collected month by month through the plan's year, cumulated, against the even pace
    (quota × months elapsed / 12); every month up to the current one."""
    plan = visible_plan(plan_id)
    unit_id = None
    if unit is None:
        made, nodes, monthly = summary.read_plan_and_months(plan)
    else:
        # One unit's months need its subtree: read with the whole tree.
        unit_id = unit_in_path(unit).id
        made, nodes, monthly = summary.read_plan_for_unit(plan, unit_id)
        if unit_id not in UnitTree.of(nodes).nodes:
            abort(404)  # a unit outside the plan's tree has no progress in it
    quota, points = summary.plan_progress(plan, made, nodes, vietnam_today(), unit_id, monthly)
    return {
        "quota": quota,
        "months": [
            {
                "month": f"{plan.year}-{point.month:02d}",
                "collected": display_units(point.collected),
                "cumulative": display_units(point.cumulative),
                "pace": display_units(point.pace),
            }
            for point in points
        ],
    }


@bp.get("/plans/<int:plan_id>/summary.xlsx")
@bp.response(200, content_type=XLSX, description="Báo cáo tổng hợp (.xlsx)")
@bulk_reading()
def plan_summary_workbook(plan_id: int) -> Response:
    """The summary workbook: the same figures as the summary, as an official report."""
    plan = visible_plan(plan_id)
    workbook = BytesIO(exports.summary_export(plan))
    name = exports.export_filename(plan)
    return send_file(workbook, mimetype=XLSX, as_attachment=True, download_name=name)
