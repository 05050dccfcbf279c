"""Uploaded workbooks kept between the preview and the confirmation of an import."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select

from campaign.extensions import db
from campaign.models import ImportKind, PendingImport, User
from campaign.models.base import utcnow
from campaign.services.errors import NotFound
from campaign.services.transaction import atomic

#: An upload nobody confirmed within this time is dropped.
MAX_AGE = timedelta(days=1)


@atomic
def store(
    user: User, kind: ImportKind, target_id: int, filename: str, data: bytes
) -> PendingImport:
    """Keeps an upload for its owner, and purges the ones left unconfirmed too long."""
    db.session.execute(delete(PendingImport).where(PendingImport.created_at < utcnow() - MAX_AGE))
    pending = PendingImport(
        token=secrets.token_urlsafe(32),
        user_id=user.id,
        kind=kind.value,
        target_id=target_id,
        filename=clean_filename(filename),
        data=data,
    )
    db.session.add(pending)
    db.session.flush()
    return pending


def clean_filename(name: str) -> str:
    """The name as shown back to its owner: no folders, control or unpaired characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in name if c.isprintable()).strip()[:255] or "tep.xlsx"


def find(token: str) -> PendingImport:
    """The pending import named by ``token``, unless it is missing or too old."""
    pending = db.session.scalar(select(PendingImport).where(PendingImport.token == token))
    if pending is None or pending.created_at < utcnow() - MAX_AGE:
        raise NotFound(_("Không tìm thấy tệp đang chờ nhập; có thể tệp đã được nhập hoặc quá hạn."))
    return pending


@atomic
def discard(pending: PendingImport) -> None:
    db.session.delete(pending)
    db.session.flush()
