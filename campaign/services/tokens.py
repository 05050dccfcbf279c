"""API tokens: made once, stored hashed, revoked at will."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from campaign.database import is_writer, writing
from campaign.extensions import db
from campaign.models import ApiToken, User
from campaign.models.base import utcnow
from campaign.services import audit
from campaign.services.errors import NotFound, ServiceError
from campaign.services.transaction import atomic

#: Tokens start with this, so a leaked one is easy to recognise in logs and code.
PREFIX = "hmtn_"
#: ``last_used_at`` is written at most this often, so reads do not all queue for a write.
USE_RECORDED_EVERY = timedelta(minutes=5)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@atomic
def create_token(user: User, name: str = "", *, by: User | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; the plain token is returned here and nowhere else."""
    if not user.enabled:
        raise ServiceError(_("Tài khoản đã bị khóa."), field="username")
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=" ".join(name.split())[:100], token_hash=digest(plain))
    db.session.add(token)
    audit.record("token.create", token, user=by, after={"user_id": user.id, "name": token.name})
    return token, plain


def tokens_of(user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    return list(db.session.scalars(query))


def all_tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))


def by_id(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_("Không có mã truy cập số %(id)d.", id=token_id))
    return token


@atomic
def revoke(token: ApiToken, *, by: User | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoke", token, user=by, after={"user_id": token.user_id})


@atomic
def revoke_all(user: User, *, by: User | None = None) -> list[ApiToken]:
    """Revokes every active token of ``user``; returns them."""
    active = [token for token in tokens_of(user) if token.revoked_at is None]
    for token in active:
        revoke(token, by=by)
    return active


def authenticate(plain: str) -> User | None:
    """The enabled user of an active token, or ``None``."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(plain)))
    if token is None or token.revoked_at is not None or not token.user.enabled:
        return None
    if token.last_used_at is None or utcnow() - token.last_used_at > USE_RECORDED_EVERY:
        if is_writer():
            token.last_used_at = utcnow()  # committed with the rest of the work
        else:
            _record_use(token.id)
    return token.user


def _record_use(token_id: int) -> None:
    # A reader's session must not become a writer: note the use in a short transaction of
    # its own. (A writer's session already holds SQLite's write lock, so it cannot do this.)
    with writing(), db.engine.begin() as connection:
        connection.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow())
        )
