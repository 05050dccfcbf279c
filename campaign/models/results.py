"""What a unit reports for a drive."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign import labels
from campaign.extensions import Model
from campaign.models.base import not_negative, one_of, utcnow
from campaign.models.plans import Drive
from campaign.models.units import OrgUnit
from campaign.rates import Bags, Tally, result_tally


class ResultState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


#: Only these states count in any figure (DOMAIN.md: drafts and returned count nowhere).
COUNTED_STATES = (ResultState.SUBMITTED.value, ResultState.APPROVED.value)


class Result(Model):
    __tablename__ = "result"
    __table_args__ = (
        UniqueConstraint("drive_id", "unit_id", name="uq_result_drive_unit"),
        one_of("state", ResultState, "state_known"),
        *not_negative(
            "registered", "deferred", "bags_250", "bags_350", "bags_450", "repeat_donors"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    drive_id: Mapped[int] = mapped_column(ForeignKey("drive.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: People who registered to donate.
    registered: Mapped[int] = mapped_column(default=0)
    #: People deferred at screening (không đủ điều kiện / hoãn).
    deferred: Mapped[int] = mapped_column(default=0)
    #: Successful donations by bag size; the counted figure is derived from these only.
    bags_250: Mapped[int] = mapped_column(default=0)
    bags_350: Mapped[int] = mapped_column(default=0)
    bags_450: Mapped[int] = mapped_column(default=0)
    #: Of the donors, how many had donated before; ``None`` when the unit did not count them.
    repeat_donors: Mapped[int | None]
    #: One of :class:`ResultState`.
    state: Mapped[str] = mapped_column(default=ResultState.DRAFT.value, index=True)
    #: Why the organiser returned the report; shown to the reporter.
    return_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    #: Bumped on every write; a save that names an older version is refused.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    drive: Mapped[Drive] = relationship()
    unit: Mapped[OrgUnit] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def bags(self) -> Bags:
        return Bags(self.bags_250, self.bags_350, self.bags_450)

    @property
    def tally(self) -> Tally:
        """The result as the figures count it (whether it counts depends on its state)."""
        return result_tally(self.registered, self.deferred, self.bags, self.repeat_donors)

    @property
    def state_label(self) -> str:
        return str(labels.RESULT_STATE[self.state])
