"""Absolute addresses to send to units: in an e-mail or a message, a path is no use."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for

from campaign.models import Drive, OrgUnit


def external_url(endpoint: str, **values: Any) -> str | None:
    """The address at ``PUBLIC_BASE_URL`` when set (the one users reach, whatever proxy the
    request came through), else the current request's; ``None`` with neither."""
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    if base:
        parts = urlsplit(base)
        adapter = current_app.url_map.bind(
            parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
        )
        return adapter.build(endpoint, values, force_external=True)
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    return None


def report_link(drive: Drive, unit: OrgUnit) -> str:
    """The unit's report form for the drive."""
    return external_url("reports.report", unit_id=unit.id, drive_id=drive.id) or ""


def reporter_home() -> str:
    """The reporter's list of their units and open drives: a link for every unit at once."""
    return external_url("reports.my_units") or ""
