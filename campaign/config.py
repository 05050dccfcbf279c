"""Settings read from the environment.

No secret lives in code: ``SECRET_KEY`` comes from the environment or, for a
developer's machine, from a random key kept in the instance folder.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def database_url(instance_path: str) -> str:
    """The database to use: ``DATABASE_URL`` if set, else SQLite in the instance folder."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "campaign.sqlite")
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver name.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(instance_path: str) -> str:
    """``SECRET_KEY`` from the environment, else one generated once per instance folder."""
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def from_environment(instance_path: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Settings from the environment, then ``overrides`` (a test's configuration)."""
    production = os.environ.get("CAMPAIGN_ENV", "development") == "production"
    if production and not os.environ.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in production (CAMPAIGN_ENV=production).")
    settings = {
        "SQLALCHEMY_DATABASE_URI": overrides.get("SQLALCHEMY_DATABASE_URI")
        or database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        # Address space of the child process that reads an uploaded workbook (the second
        # wall behind the size checks of campaign/spreadsheets/bounds.py).
        "IMPORT_MEMORY_LIMIT": int(os.environ.get("IMPORT_MEMORY_LIMIT_MB", "2048")) << 20,
        # Browsers that once reached the site over HTTPS keep to HTTPS for a year. Production
        # only: it is served behind a proxy speaking HTTPS, and a browser cannot undo it.
        "STRICT_TRANSPORT_SECURITY": "max-age=31536000; includeSubDomains" if production else "",
        # How many reverse proxies in front of the app set X-Forwarded-For (and
        # X-Forwarded-Proto): their last entries are then trusted as the client's address
        # (and scheme), so that limits per address see the client, not the proxy. 0 trusts
        # none: without a proxy, anyone could write the header.
        "PROXY_FIX_X_FOR": int(os.environ.get("PROXY_FIX_X_FOR", 0)),
        "PROXY_FIX_X_PROTO": int(os.environ.get("PROXY_FIX_X_PROTO", 0)),
        # Seconds a SQLite writer waits for the lock before giving up.
        "SQLITE_BUSY_TIMEOUT": 30,
        # A session ends after this many seconds without a request, and this long after sign-in.
        "SESSION_IDLE_TIMEOUT": int(os.environ.get("SESSION_IDLE_TIMEOUT", 30 * 60)),
        "SESSION_ABSOLUTE_TIMEOUT": int(os.environ.get("SESSION_ABSOLUTE_TIMEOUT", 12 * 3600)),
        # Wrong passwords (signing in, or the current one when changing it) allowed per
        # username from one address, and per address whatever the username. Never per
        # username alone: a stranger could then lock anyone out. The counters live in memory,
        # or in Redis (e.g. redis://host:6379/0) so that several app processes share them.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_LIMIT_PER_USERNAME_AND_ADDRESS": os.environ.get(
            "LOGIN_LIMIT_PER_USERNAME_AND_ADDRESS",
            # The setting's earlier name, still honoured for deployments that set it.
            os.environ.get("LOGIN_LIMIT_PER_USERNAME", "5 per 15 minutes"),
        ),
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes"),
        # Requests for published plans (page and JSON together) from one address. A school's
        # phones behind one address scanning a poster stay well below it.
        "PUBLIC_PAGE_LIMIT": os.environ.get("PUBLIC_PAGE_LIMIT", "120 per minute"),
        # Seconds a published plan is served from memory before it is read again; browsers
        # and proxies may keep it 60 s more (Cache-Control), so more gains little.
        "PUBLIC_PAGE_CACHE_SECONDS": float(os.environ.get("PUBLIC_PAGE_CACHE_SECONDS", 30)),
        # Lines of a plan's dashboard table per page: a longer plan (a national one) is
        # listed a page at a time, searched, filtered and sorted by the server.
        "DASHBOARD_PAGE_SIZE": 200,
        # Whether a server process makes the dashboards read most as it starts
        # (campaign.wsgi): "0" leaves them to their first reader.
        "WARM_DASHBOARDS": os.environ.get("WARM_DASHBOARDS", "1").strip() != "0",
        # The SMTP server that sends reminders to report (campaign.mail); without
        # MAIL_SERVER no e-mail is sent, and the command and the page say so.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "").strip(),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT") or 587),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "1").strip().lower()
        not in ("0", "false", "no", "off", ""),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "").strip(),
        # The address users reach the app at, e.g. https://hienmau.example.vn: links in
        # reminders are made from it (the command line has no request to take it from).
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/"),
    }
    if "SECRET_KEY" not in overrides:
        settings["SECRET_KEY"] = secret_key(instance_path)
    return settings | dict(overrides)
