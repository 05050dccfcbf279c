"""The signed-in user's scope for the current request, and refusing what is outside it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import abort, g, request
from flask_login import current_user, login_required

from campaign.extensions import db
from campaign.models import MANAGERS, TREE_READERS, User
from campaign.services import audit
from campaign.services.scope import Scope

P = ParamSpec("P")
R = TypeVar("R")
log = logging.getLogger(__name__)

#: The role groups the views name, defined with the roles (campaign.models.users).
__all__ = [
    "MANAGERS",
    "TREE_READERS",
    "current_scope",
    "keep_only_refusals",
    "require",
    "roles_required",
]


def current_scope() -> Scope:
    if "scope" not in g:
        g.scope = Scope(current_user._get_current_object())
    return g.scope


def require(allowed: bool, user: User | None = None) -> None:
    """Answers 403 unless ``allowed``; the refusal is logged and kept in the audit trail.

    ``user`` is who asked, when not the signed-in user (an API token's owner)."""
    if allowed:
        return
    if user is None and current_user.is_authenticated:
        user = current_user._get_current_object()
    log.warning("access refused: %s %s for %s", request.method, request.path, user)
    # Written at the end of the request, once its own writes are dropped: never a commit
    # in the middle of a view.
    g.setdefault("refused_accesses", []).append((user, request.method, request.path))
    abort(403)


def keep_only_refusals() -> bool:
    """Drops the request's writes and commits its refused accesses alone; False if none."""
    refusals = g.pop("refused_accesses", [])
    if not refusals:
        return False
    db.session.rollback()
    for user, method, path in refusals:
        audit.record(
            "access.refused", entity="request", user=user, after={"method": method, "path": path}
        )
    db.session.commit()
    return True


def roles_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Signed in, and with one of ``roles``."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        @login_required
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            require(current_user.role in roles)
            return view(*args, **kwargs)

        return wrapper

    return decorator
