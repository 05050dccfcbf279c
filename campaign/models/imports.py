"""Uploaded workbooks waiting for their owner to confirm the import."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import Model
from campaign.models.base import one_of, utcnow


class ImportKind(StrEnum):
    UNITS = "units"
    QUOTAS = "quotas"
    RESULTS = "results"


class PendingImport(Model):
    """Kept in the database, not in a worker's memory, so any app process can confirm it."""

    __tablename__ = "pending_import"
    __table_args__ = (one_of("kind", ImportKind, "kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random and unguessable; names the import in its URL.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    #: Only the user who uploaded the file may confirm it.
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: One of :class:`ImportKind`.
    kind: Mapped[str] = mapped_column(String(20))
    #: The unit (units), plan (quotas) or drive (results) the file is for.
    target_id: Mapped[int]
    #: The name the file had on the user's computer, to show it back.
    filename: Mapped[str] = mapped_column(String(255), default="")
    #: The workbook as uploaded; read again when the import is confirmed.
    data: Mapped[bytes] = mapped_column(LargeBinary)
    #: UTC time of the upload; old ones are purged.
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
