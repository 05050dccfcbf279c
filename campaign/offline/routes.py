"""The reporter's pages as an app for the phone: its manifest and its service worker.

The service worker keeps the report form and the static files, so that a reporter at a
drive's site with no signal can still fill the form; the page's script (static/offline.js)
keeps what was sent and sends it when the connection returns. Both are served by the app,
not from /static/, because a worker's reach is decided by the address it is served from.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, current_app, make_response, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

bp = Blueprint("offline", __name__)

#: What the worker fetches as soon as it is installed: what the form needs to show.
#: (tests/test_offline.py checks the form's page asks for nothing else from /static/.)
KEPT_FILES = (
    "app.css",
    "menu.js",
    "offline.js",
    "report-form.js",
    "favicon.svg",
    "icon.svg",
    "icon-192.png",
)
THEME = "#b3202a"


@bp.get("/sw.js")
def service_worker() -> Response:
    """The worker's script; a new version of any static file makes it a new worker, which
    drops the files the old one kept."""
    body = render_template(
        "offline/sw.js",
        cache=f"bao-cao-{_static_version()}",
        files=[url_for("static", filename=name) for name in KEPT_FILES],
        static=url_for("static", filename=""),
        # The report form, and no other page: not the lists, not the reviewers' pages.
        form=r"^" + url_for("reports.my_units") + r"don-vi/\d+/dot/\d+$",
    )
    response = make_response(body)
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """What a phone needs to install the reporter's pages as an app, in Vietnamese."""
    scope = url_for("reports.my_units")
    body = {
        "name": _("Báo cáo hiến máu tình nguyện"),
        "short_name": _("Báo cáo HMTN"),
        "description": _("Báo cáo kết quả hiến máu của đơn vị, cả khi không có mạng."),
        "lang": str(get_locale()),
        "start_url": scope,
        "scope": scope,
        "display": "standalone",
        "theme_color": THEME,
        "background_color": "#ffffff",
        "icons": [
            _icon("icon.svg", "any", "image/svg+xml"),
            _icon("icon-192.png", "192x192", "image/png"),
            _icon("icon-512.png", "512x512", "image/png"),
        ],
    }
    response = make_response(json.dumps(body, ensure_ascii=False))
    response.mimetype = "application/manifest+json"
    return response


def _icon(name: str, sizes: str, mimetype: str) -> dict[str, str]:
    return {"src": url_for("static", filename=name), "sizes": sizes, "type": mimetype}


def _static_version() -> str:
    """A digest of the static files and of the worker itself (a few dozen kilobytes)."""
    digest = hashlib.sha256()
    folder = Path(current_app.static_folder or "")
    worker = Path(current_app.template_folder or "") / "offline" / "sw.js"
    for path in [worker, *sorted(p for p in folder.iterdir() if p.is_file())]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
