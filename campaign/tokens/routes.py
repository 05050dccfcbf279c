"""The signed-in user's API tokens: listed, and revoked one by one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from campaign.extensions import db
from campaign.models import ApiToken
from campaign.services import tokens
from campaign.tokens.forms import RevokeForm

bp = Blueprint("tokens", __name__, url_prefix="/tai-khoan/ma-truy-cap")


@bp.get("/")
@login_required
def index() -> str:
    """Tokens are made on the command line; here they are seen and revoked."""
    return render_template(
        "account/tokens.html", tokens=tokens.tokens_of(current_user), form=RevokeForm()
    )


@bp.post("/<int:token_id>/thu-hoi")
@login_required
def revoke(token_id: int) -> Response:
    token = db.session.get(ApiToken, token_id)
    # Another user's token is answered as missing, so ids reveal nothing.
    if token is None or token.user_id != current_user.id:
        abort(404)
    if RevokeForm().validate_on_submit():
        tokens.revoke(token, by=current_user)
        flash(_("Đã thu hồi mã truy cập “%(name)s”.", name=token.name or token.id), "info")
    return redirect(url_for("tokens.index"))
