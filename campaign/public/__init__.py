"""Published plans: pages anyone may open, and frame, without signing in.

Nothing under this blueprint reads the session or the signed-in user, so a page is the
same for everyone and a shared cache may keep it: its requests get no session at all
(:class:`SessionInterface`), and the hooks that look at the user ask
:func:`is_public_request` first.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.routing import BaseConverter

BLUEPRINT = "public"
PREFIX = "/cong-khai/"


def is_public_request() -> bool:
    """Under the published pages' prefix, whether or not a route matched (a mistyped
    address gets the public 404, which reads no session either)."""
    return request.path.startswith(PREFIX)


class SlugConverter(BaseConverter):
    """A published plan's slug (``secrets.token_urlsafe``): letters, digits, "-" and "_".
    No ".", so ``<slug>.json`` is never read as a slug."""

    regex = r"[A-Za-z0-9_-]{1,64}"


def render(template: str, **context: Any) -> str:
    """A template rendered without the app's context processors: Flask-Login's would load
    the signed-in user (and mark the session read, or even write it) on every page."""
    return current_app.jinja_env.get_template(template).render(context)


class SessionInterface(SecureCookieSessionInterface):
    """The signed cookie session, except under :data:`PREFIX`: there the cookie is not even
    opened, and the request gets Flask's null session, which refuses any write and is
    never saved (so no Set-Cookie, no ``Vary: Cookie``). Routing has not run yet when the
    session opens, hence the path."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(PREFIX):
            return None  # Flask then makes the null session
        return super().open_session(app, request)
