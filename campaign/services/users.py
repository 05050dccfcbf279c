"""Accounts."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from functools import cache
from importlib.resources import files

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from campaign.extensions import db
from campaign.models import OrgUnit, Role, User
from campaign.services import audit, tokens
from campaign.services.errors import ServiceError
from campaign.services.transaction import atomic

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords, lower case."""
    text = files("campaign").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip()[:1] not in ("", "#")
    )


def check_password_rules(password: str) -> None:
    """Length only, no composition rules; the most common passwords are refused."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            _("Mật khẩu cần ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH), field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ServiceError(
            _("Mật khẩu dài tối đa %(n)d ký tự.", n=MAX_PASSWORD_LENGTH), field="password"
        )
    if password.strip().casefold() in common_passwords():
        raise ServiceError(
            _("Mật khẩu này quá phổ biến, dễ bị đoán; hãy chọn mật khẩu khác."), field="password"
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


@atomic
def create_user(
    *,
    username: str,
    password: str,
    role: str,
    units: Sequence[OrgUnit] = (),
    full_name: str = "",
    by: User | None = None,
    one_time: bool = False,
) -> User:
    """``one_time``: the password is handed over by someone else, to be replaced."""
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
    user.must_change_password = one_time
    db.session.add(user)
    audit.record("user.create", user, user=by)
    return user


@atomic
def set_password(user: User, password: str, *, by: User | None = None) -> None:
    """Sets a new password and ends the user's other sessions."""
    check_password_rules(password)
    user.set_password(password)
    user.must_change_password = False
    user.session_version += 1
    audit.record("user.password", user, user=by, after={"username": user.username})


def one_time_password() -> str:
    """A random password to hand over once; the holder should change it."""
    return secrets.token_urlsafe(9)


@atomic
def reset_password(user: User, *, by: User | None = None) -> str:
    """Gives ``user`` a new random password, returned to be shown once.

    The account's API tokens are revoked too: whoever knew the old password may have
    made one, and a token would outlive the reset that shut them out."""
    password = one_time_password()
    set_password(user, password, by=by)
    user.must_change_password = True
    revoked = tokens.revoke_all(user, by=by)
    if revoked:
        after = {"username": user.username, "tokens": [token.id for token in revoked]}
        audit.record("user.revoke_tokens", user, user=by, after=after)
    return password


def _account(user: User) -> dict[str, object]:
    return audit.snapshot(user) | {"units": [u.code for u in user.units]}


@atomic
def update_user(
    user: User,
    *,
    role: str,
    units: Sequence[OrgUnit],
    full_name: str,
    by: User | None = None,
) -> User:
    """Changes role and scope; a change of either ends the user's sessions."""
    check_role(role)
    if role != Role.ADMIN and not units:
        raise ServiceError(_("Vai trò này cần đơn vị phạm vi (--unit)."), field="units")
    if by is not None and by.id == user.id and role != Role.ADMIN:
        raise ServiceError(_("Không thể tự bỏ quyền quản trị của mình."), field="role")
    before = _account(user)
    scope_changed = role != user.role or {u.id for u in units} != {u.id for u in user.units}
    user.role, user.units, user.full_name = role, list(units), full_name.strip()
    if scope_changed:
        user.session_version += 1
    db.session.flush()
    audit.record("user.update", user, user=by, before=before, after=_account(user))
    return user


@atomic
def set_enabled(user: User, enabled: bool, *, by: User | None = None) -> User:
    """Disabling ends every session of the account at once."""
    if by is not None and by.id == user.id and not enabled:
        raise ServiceError(_("Không thể tự khóa tài khoản của mình."))
    if user.enabled == enabled:
        return user
    before = audit.snapshot(user)
    user.enabled = enabled
    if not enabled:
        user.session_version += 1
    audit.record("user.enable" if enabled else "user.disable", user, user=by, before=before)
    return user


@atomic
def sign_out_everywhere(user: User) -> None:
    """Signing out ends the user's other sessions too."""
    user.session_version += 1
    audit.record("auth.logout", user, user=user, after={"username": user.username})


def by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username.strip()))


@cache
def _no_account_hash() -> str:
    """A hash of a random password, made as an account's is, to check against instead."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(username: str, password: str) -> User | None:
    """The enabled account with this username and password, or ``None``.

    Every attempt costs one password check: an unknown or disabled account that answered
    faster than a wrong password would tell a stranger which usernames exist."""
    user = by_username(username)
    if user is None:
        check_password_hash(_no_account_hash(), password)
        return None
    if user.check_password(password) and user.enabled:
        return user
    return None
