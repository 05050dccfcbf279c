"""The plan list and a plan's summary table."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from campaign.extensions import db
from campaign.models import COUNTING_RULE_LABELS, Plan
from campaign.services.summary import plan_summary

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def plans() -> str:
    """Plans by year, newest first."""
    query = (
        select(Plan)
        .options(joinedload(Plan.issuer))
        .order_by(Plan.year.desc(), Plan.issued_on.desc(), Plan.id.desc())
    )
    return render_template("main/plans.html", plans=db.session.scalars(query).all())


@bp.get("/ke-hoach/<int:plan_id>")
@login_required
def plan(plan_id: int) -> str:
    """A plan's quotas, what each unit collected, and the totals."""
    plan = db.session.get(Plan, plan_id) or abort(404)
    return render_template(
        "main/plan.html",
        plan=plan,
        summary=plan_summary(plan),
        rule_label=COUNTING_RULE_LABELS[plan.rule],
    )
