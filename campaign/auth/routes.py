"""Signing in and out, session timeouts, changing one's password."""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from campaign import api
from campaign.api import errors as api_errors
from campaign.auth.forms import LoginForm, PasswordChangeForm
from campaign.extensions import db, limiter, login_manager
from campaign.models import Role, User
from campaign.public import is_public_request
from campaign.services import audit, users
from campaign.services.errors import ServiceError

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


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


def landing_url(user: User) -> str:
    """Reporters start from their units; the others from the plan list."""
    if user.role == Role.REPORTER:
        return url_for("reports.my_units")
    return url_for("main.plans")


@bp.before_app_request
def end_expired_session() -> None:
    """Idle and absolute timeouts; the views then treat the request as anonymous."""
    if request.endpoint == "static" or is_public_request() or not current_user.is_authenticated:
        return
    now = time.time()
    config = current_app.config
    started, seen = session.get("signed_in_at", 0), session.get("seen_at", 0)
    if (
        now - started > config["SESSION_ABSOLUTE_TIMEOUT"]
        or now - seen > config["SESSION_IDLE_TIMEOUT"]
    ):
        logout_user()
        session.pop("signed_in_at", None)
        session.pop("seen_at", None)
        flash(_("Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."), "info")
        return
    if now - seen > 60:  # refreshing less often spares a new cookie on every request
        session["seen_at"] = now


#: What an account holding a one-time password may reach before it picks its own.
BEFORE_OWN_PASSWORD = frozenset(
    {
        "auth.change_password",
        "auth.logout",
        "auth.login",
        "main.language",
        "static",
        "offline.service_worker",
        "offline.manifest",
    }
)


@bp.before_app_request
def require_own_password() -> Response | None:
    """A one-time password opens the page that replaces it, and nothing else."""
    if (
        request.endpoint in BEFORE_OWN_PASSWORD
        or is_public_request()
        or not current_user.is_authenticated
        or not current_user.must_change_password
    ):
        return None
    if api.is_api_request(request.path):
        if request.headers.get("Authorization"):
            return None  # a token speaks for itself, not for the session
        message = _("Bạn đang dùng mật khẩu dùng một lần; hãy đặt mật khẩu của riêng bạn.")
        return api_errors.error_response(403, message)
    return redirect(url_for("auth.change_password"))  # the page says why


def _account_and_address() -> str:
    """The account a password was tried for, and from where: a stranger's failures count
    against the stranger's own address, so they never lock the account's owner out."""
    if current_user.is_authenticated:
        username = current_user.username
    else:
        username = request.form.get("username") or ""
    return f"{username.strip().casefold()}@{get_remote_address()}"


def _refused(_response: Response) -> bool:
    return bool(g.get("password_refused"))


#: Wrong passwords, on the sign-in page and for the current password on the password page,
#: are counted together: per account and address, and (wider) per address.
throttle_per_account_and_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_USERNAME_AND_ADDRESS"],
    scope="wrong-password-account-address",
    key_func=_account_and_address,
    methods=["POST"],
    deduct_when=_refused,
)
throttle_per_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    scope="wrong-password-address",
    key_func=get_remote_address,
    methods=["POST"],
    deduct_when=_refused,
)


@bp.route("/dang-nhap", methods=["GET", "POST"])
@throttle_per_account_and_address
@throttle_per_address
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.username.data or "", form.password.data or "")
        if user is not None:
            _start_session(user)
            return redirect(_safe_next(request.args.get("next")) or landing_url(user))
        g.password_refused = True
        log.warning("failed sign-in for %r from %s", form.username.data, request.remote_addr)
        audit.record(
            "auth.failed",
            entity="user_account",
            after={"username": form.username.data, "address": request.remote_addr},
        )
        form.password.errors.append(_("Tên đăng nhập hoặc mật khẩu không đúng."))
    return render_template("auth/login.html", form=form)


def _start_session(user: User) -> None:
    login_user(user)
    session["signed_in_at"] = session["seen_at"] = time.time()


@bp.post("/dang-xuat")
@login_required
def logout() -> Response:
    """Ends this session and every other session of the user, and clears what this browser
    kept for reporting with no signal: the report form, reports waiting to be sent."""
    users.sign_out_everywhere(current_user._get_current_object())
    logout_user()
    flash(_("Bạn đã đăng xuất."), "info")
    response = redirect(url_for("auth.login"))
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.route("/doi-mat-khau", methods=["GET", "POST"])
@throttle_per_account_and_address
@throttle_per_address
@login_required
def change_password() -> str | Response:
    """A new password ends the user's other sessions; this one goes on."""
    user: User = current_user._get_current_object()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not user.check_password(form.current.data or ""):
            g.password_refused = True
            log.warning("wrong current password for %r from %s", user.username, request.remote_addr)
            form.current.errors.append(_("Mật khẩu hiện tại không đúng."))
        elif form.new.data == form.current.data:
            form.new.errors.append(_("Mật khẩu mới phải khác mật khẩu hiện tại."))
        else:
            try:
                users.set_password(user, form.new.data or "", by=user)
            except ServiceError as error:
                form.new.errors.append(error.message)
            else:
                _start_session(user)
                flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác đã kết thúc."), "info")
                return redirect(landing_url(user))
    return render_template("auth/password.html", form=form)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never redirect to another host after sign-in.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    ``/%09/evil.example`` and ``/%5Cevil.example`` lead away as surely as ``//evil.example``.
    The target is checked as given and once more decoded, in case something on the way
    decodes it again; anything doubtful goes to the landing page."""
    if not target:
        return None
    for form in (target, unquote(target)):
        if not form.isprintable() or "\\" in form:
            return None  # a control character (tab, CR, LF...) or a backslash
        parts = urlsplit(form)
        if parts.scheme or parts.netloc or not form.startswith("/") or form.startswith("//"):
            return None
    return target
