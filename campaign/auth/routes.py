"""Signing in and out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from campaign.auth.forms import LoginForm
from campaign.extensions import db, login_manager
from campaign.models import User
from campaign.services import audit, users

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Sessions name the user's session version: bumping it signs them out everywhere."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.scalar(select(User).where(User.id == int(user_id)))
    if user is None or user.session_version != int(version) or not user.enabled:
        return None
    return user


@bp.route("/dang-nhap", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.plans"))
    form = LoginForm()
    if form.validate_on_submit():
        user = users.by_username(form.username.data or "")
        if user is not None and user.enabled and user.check_password(form.password.data or ""):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("main.plans"))
        audit.record("auth.failed", entity="user_account", after={"username": form.username.data})
        form.password.errors.append(_("Tên đăng nhập hoặc mật khẩu không đúng."))
    return render_template("auth/login.html", form=form)


@bp.post("/dang-xuat")
@login_required
def logout() -> Response:
    logout_user()
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never redirect to another host after sign-in."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None
