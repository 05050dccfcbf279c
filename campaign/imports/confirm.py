"""Confirming a preview, from a file's page or the official list's: the same checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash
from flask_babel import gettext as _
from flask_login import current_user

from campaign.models import User
from campaign.services import imports
from campaign.services.errors import ServiceError

P = TypeVar("P", bound=imports.Preview)


def apply_confirmed(
    result: P,
    fingerprint: str | None,
    problems: str,
    apply: Callable[[P, User], int] = imports.apply,
) -> int | None:
    """Applies ``result`` all or nothing if it has no problem and still says what the
    confirmed preview showed (``fingerprint``); else flashes why and returns ``None``.

    ``problems`` is the message for a preview that still has problems; ``apply`` writes
    it (the official list's preview also records the reform)."""
    if not result.ok:
        flash(problems, "error")
        return None
    if result.fingerprint() != fingerprint:
        flash(_("Dữ liệu đã thay đổi từ lúc xem trước; hãy xem lại rồi xác nhận."), "error")
        return None
    try:
        return apply(result, current_user._get_current_object())
    except ServiceError as error:
        flash(_("Chưa có gì được lưu: %(reason)s", reason=error.message), "error")
        return None
