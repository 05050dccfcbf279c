"""The plan list, the plan dashboard, a unit's page in a plan, and the interface language."""

from __future__ import annotations

from io import BytesIO

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import login_required
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from campaign.auth.access import current_scope, require
from campaign.extensions import db
from campaign.formatting import vietnam_today
from campaign.i18n import LANGUAGES
from campaign.memory import bulk_reading
from campaign.models import OrgUnit, Plan
from campaign.rates import UnitTree
from campaign.services.dashboard import (
    Filters,
    dashboard,
    drive_to_chase,
    drives_reporting,
    page_number,
    progress_of,
    unit_page,
)
from campaign.services.summary import comparison, read_plan_for_unit

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def plans() -> str:
    """Plans by year, newest first."""
    query = (
        current_scope()
        .plans()
        .options(joinedload(Plan.issuer))
        .order_by(Plan.year.desc(), Plan.issued_on.desc(), Plan.id.desc())
    )
    return render_template("main/plans.html", plans=db.session.scalars(query).all())


@bp.get("/ke-hoach/<int:plan_id>")
@login_required
@bulk_reading()
def plan(plan_id: int) -> str:
    """The plan dashboard: tiles, every quota holder, subtotals by group and a chart."""
    plan = db.session.get(Plan, plan_id) or abort(404)
    require(current_scope().can_see_plan(plan))
    filters = Filters.from_args(request.args, plan.targets)
    today = vietnam_today()
    return render_template(
        "main/plan.html",
        plan=plan,
        board=dashboard(plan, filters, today, page_size=current_app.config["DASHBOARD_PAGE_SIZE"]),
        filters=filters,
        can_manage=current_scope().can_manage_plan(plan),
        reporting=drives_reporting(plan, current_scope().units_of_plan(plan), today),
        chase=drive_to_chase(plan.drives, today),
    )


@bp.get("/ke-hoach/<int:plan_id>/cong-khai/ma-qr.<any(png, svg):kind>")
@login_required
def public_qr(plan_id: int, kind: str) -> Response:
    """The QR code of the plan's public address, for a poster; 404 while not published."""
    plan = db.session.get(Plan, plan_id) or abort(404)
    require(current_scope().can_see_plan(plan))
    if plan.public_slug is None:
        abort(404)
    address = url_for("public.page", slug=plan.public_slug, _external=True)
    image = BytesIO()
    # Large modules and a quiet zone: it must scan from a printed A4 poster across a hall.
    segno.make(address, error="m").save(image, kind=kind, scale=10, border=4)
    image.seek(0)
    mimetype = "image/png" if kind == "png" else "image/svg+xml"
    name = f"ma-qr-ke-hoach-{plan.id}.{kind}"
    return send_file(image, mimetype=mimetype, download_name=name)


@bp.get("/ke-hoach/<int:plan_id>/don-vi/<int:unit_id>")
@login_required
@bulk_reading()
def plan_unit(plan_id: int, unit_id: int) -> str:
    """A unit in a plan: its figures, its subtree and its results drive by drive."""
    plan = db.session.get(Plan, plan_id) or abort(404)
    unit = db.session.get(OrgUnit, unit_id) or abort(404)
    scope = current_scope()
    require(scope.can_see_plan(plan) and scope.can_see_unit(unit))
    summary, units, monthly = read_plan_for_unit(plan, unit.id)
    nodes = UnitTree.of(units).nodes  # a kept tree's, worked out once
    if unit.id not in nodes:
        abort(404)
    page = page_number(request.args.get("trang", ""))
    made = unit_page(plan, unit.id, summary, units, page, current_app.config["DASHBOARD_PAGE_SIZE"])
    return render_template(
        "main/unit.html",
        plan=plan,
        unit=unit,
        page=made,
        # The drives whose page (reports on time, late, owed) the reader may open.
        followed=scope.followed_plans({d.drive.plan_id for d in made.drives}),
        progress=progress_of(plan, summary, units, vietnam_today(), unit.id, monthly),
        compared=comparison(plan, summary, among=[unit.id], keep=False),
    )


@bp.post("/ngon-ngu")
def language() -> Response:
    """Switches the interface language for this browser session."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    target = request.referrer or ""
    host = request.host_url
    return redirect(target if target.startswith(host) else url_for("main.plans"))
