"""Accounts: create, change role and scope, disable, reset the password."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from campaign.admin.forms import AccountForm, NewAccountForm, unit_codes
from campaign.auth.access import roles_required
from campaign.extensions import db
from campaign.formfields import show_error
from campaign.models import OrgUnit, Role, User
from campaign.reports.forms import VersionForm
from campaign.services import units, users
from campaign.services.errors import ServiceError

bp = Blueprint("admin", __name__, url_prefix="/quan-tri")


def _scope_units(form: AccountForm) -> list[OrgUnit] | None:
    try:
        return [units.by_code(code) for code in unit_codes(form.units.data)]
    except ServiceError as error:
        form.units.errors.append(error.message)
        return None


def _one_time(user: User, password: str, *, reset: bool = False) -> Response:
    """The password is shown on this page only; the browser must not keep it."""
    response = make_response(
        render_template("admin/password.html", account=user, password=password, reset=reset)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tai-khoan")
@roles_required(Role.ADMIN)
def accounts() -> str:
    query = select(User).options(selectinload(User.units)).order_by(User.username)
    return render_template(
        "admin/accounts.html", accounts=db.session.scalars(query).all(), form=VersionForm()
    )


@bp.route("/tai-khoan/moi", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_account() -> str | Response:
    """Creates an account with a one-time password, shown once."""
    form = NewAccountForm()
    if form.validate_on_submit() and (scope := _scope_units(form)) is not None:
        password = users.one_time_password()
        try:
            user = users.create_user(
                username=form.username.data or "",
                password=password,
                role=form.role.data,
                units=scope,
                full_name=form.full_name.data or "",
                by=current_user._get_current_object(),
                one_time=True,
            )
        except ServiceError as error:
            show_error(form, error, default=form.units)
        else:
            return _one_time(user, password)
    return render_template("admin/account.html", form=form, account=None)


@bp.route("/tai-khoan/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def account(user_id: int) -> str | Response:
    """Role and scope; changing either ends the account's sessions."""
    user = db.session.get(User, user_id) or abort(404)
    form = AccountForm(obj=user) if request.method == "GET" else AccountForm()
    if request.method == "GET":
        form.units.data = " ".join(u.code for u in user.units)
    if form.validate_on_submit() and (scope := _scope_units(form)) is not None:
        try:
            users.update_user(
                user,
                role=form.role.data,
                units=scope,
                full_name=form.full_name.data or "",
                by=current_user._get_current_object(),
            )
        except ServiceError as error:
            show_error(form, error, default=form.units)
        else:
            flash(_("Đã lưu tài khoản %(name)s.", name=user.username), "info")
            return redirect(url_for(".accounts"))
    return render_template("admin/account.html", form=form, account=user, action=VersionForm())


@bp.post("/tai-khoan/<int:user_id>/trang-thai")
@roles_required(Role.ADMIN)
def set_enabled(user_id: int) -> Response:
    """Disables (ending every session at once) or enables an account."""
    user = db.session.get(User, user_id) or abort(404)
    if not VersionForm().validate_on_submit():
        abort(400)
    enabled = request.form.get("enabled") == "1"
    try:
        users.set_enabled(user, enabled, by=current_user._get_current_object())
    except ServiceError as error:
        flash(error.message, "error")
    else:
        name = user.username
        flash(
            _("Đã mở khóa %(name)s.", name=name) if enabled else _("Đã khóa %(name)s.", name=name)
        )
    return redirect(url_for(".accounts"))


@bp.post("/tai-khoan/<int:user_id>/mat-khau")
@roles_required(Role.ADMIN)
def reset_password(user_id: int) -> Response:
    """A new one-time password, shown once; the account's sessions end, its tokens too."""
    user = db.session.get(User, user_id) or abort(404)
    if not VersionForm().validate_on_submit():
        abort(400)
    password = users.reset_password(user, by=current_user._get_current_object())
    return _one_time(user, password, reset=True)
