"""Reminders sent to units that owe a drive's report."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import Model
from campaign.models.base import utcnow


class ReminderSent(Model):
    """One e-mail reminding one unit of one drive's report. At most one a Vietnam day:
    the unique key holds even when the command and the button run at the same time."""

    __tablename__ = "reminder_sent"
    __table_args__ = (
        UniqueConstraint("drive_id", "unit_id", "sent_on", name="uq_reminder_drive_unit_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    drive_id: Mapped[int] = mapped_column(ForeignKey("drive.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: The Vietnam date it was sent on (the day that allows one reminder).
    sent_on: Mapped[date]
    #: UTC time it was handed to the mail server.
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The address it went to, as the unit had it then.
    email: Mapped[str] = mapped_column(String(254))
    #: Who sent it; ``None`` for the command line.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
