"""Accounts."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import select

from campaign.extensions import db
from campaign.models import OrgUnit, Role, User
from campaign.services import audit
from campaign.services.errors import ServiceError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            _("Mật khẩu cần ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH), field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ServiceError(
            _("Mật khẩu dài tối đa %(n)d ký tự.", n=MAX_PASSWORD_LENGTH), field="password"
        )


def check_role(role: str) -> None:
    if role not in Role.__members__.values():
        choices = ", ".join(r.value for r in Role)
        raise ServiceError(
            _(
                "Vai trò %(role)r không hợp lệ; chọn một trong: %(choices)s.",
                role=role,
                choices=choices,
            ),
            "role",
        )


def create_user(
    *,
    username: str,
    password: str,
    role: str,
    units: Sequence[OrgUnit] = (),
    full_name: str = "",
    by: User | None = None,
) -> User:
    username = username.strip()
    if not username:
        raise ServiceError(_("Tên đăng nhập không được để trống."), field="username")
    check_role(role)
    if role != Role.ADMIN and not units:
        raise ServiceError(_("Vai trò này cần đơn vị phạm vi (--unit)."), field="units")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ServiceError(_("Tên đăng nhập %(name)s đã có.", name=username), field="username")
    check_password_rules(password)
    user = User(username=username, role=role, full_name=full_name, units=list(units))
    user.set_password(password)
    db.session.add(user)
    audit.record("user.create", user, user=by)
    return user


def set_password(user: User, password: str, *, by: User | None = None) -> None:
    """Sets a new password and ends the user's other sessions."""
    check_password_rules(password)
    user.set_password(password)
    user.session_version += 1
    audit.record("user.password", user, user=by, after={"username": user.username})


def by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username.strip()))
