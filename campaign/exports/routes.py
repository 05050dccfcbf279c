"""Excel downloads: a plan's summary workbook and its quota template."""

from __future__ import annotations

import io

from flask import Blueprint, abort, send_file
from flask_login import login_required
from werkzeug.wrappers import Response

from campaign.auth.access import current_scope, require
from campaign.extensions import db
from campaign.memory import bulk_reading
from campaign.models import Plan
from campaign.services.exports import export_filename, quota_template_export, summary_export
from campaign.spreadsheets import XLSX_MIMETYPE as XLSX

bp = Blueprint("exports", __name__)


def _send(data: bytes, name: str) -> Response:
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


@bp.get("/ke-hoach/<int:plan_id>/bao-cao.xlsx")
@login_required
@bulk_reading()
def summary(plan_id: int) -> Response:
    """The summary workbook, for anyone who can see the plan (leaders included)."""
    plan = db.session.get(Plan, plan_id) or abort(404)
    require(current_scope().can_see_plan(plan))
    return _send(summary_export(plan), export_filename(plan))


@bp.get("/ke-hoach/<int:plan_id>/mau-chi-tieu.xlsx")
@login_required
def quota_template(plan_id: int) -> Response:
    """The quota template with the plan's units filled in, for the organisers who set quotas."""
    plan = db.session.get(Plan, plan_id) or abort(404)
    require(current_scope().can_manage_plan(plan))
    return _send(quota_template_export(plan), "mau-" + export_filename(plan))
