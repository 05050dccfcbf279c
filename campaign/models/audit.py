"""The audit trail: who changed what, when, from which values to which."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import Model, db
from campaign.models.base import utcnow


class AuditEntry(Model):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: UTC time of the change.
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: Who did it; ``None`` for the command line or an anonymous attempt.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    #: What happened, e.g. ``result.submit``, ``quota.set``, ``auth.failed``.
    action: Mapped[str] = mapped_column(String(60))
    #: The kind of record and its id, for a record's history.
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: A reason given (returning or reopening a report) or other free text.
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (db.Index("ix_audit_entry_entity", "entity", "entity_id"),)
