"""The plan list, a plan's summary table, and the interface language."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import login_required
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from campaign.auth.access import current_scope, require
from campaign.extensions import db
from campaign.i18n import LANGUAGES
from campaign.models import Plan
from campaign.services.summary import plan_summary

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
def plan(plan_id: int) -> str:
    """A plan's quotas, what each unit collected, and the totals."""
    plan = db.session.get(Plan, plan_id) or abort(404)
    require(current_scope().can_see_plan(plan))
    return render_template(
        "main/plan.html",
        plan=plan,
        summary=plan_summary(plan),
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
