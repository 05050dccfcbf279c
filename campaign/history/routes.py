"""The history of one record: every change, who made it, when, before and after."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import login_required

from campaign.auth.access import current_scope, require
from campaign.services import audit

bp = Blueprint("history", __name__)


@bp.get("/lich-su/<entity>/<int:entity_id>")
@login_required
def show(entity: str, entity_id: int) -> str:
    allowed = current_scope().can_see_history(entity, entity_id)
    if allowed is None:
        abort(404)
    require(allowed)
    entries = audit.history(entity, entity_id)
    return render_template(
        "history/show.html",
        entity=entity,
        entity_id=entity_id,
        entries=entries,
        people=audit.users_by_id(entries),
        changes=audit.changes,
    )
