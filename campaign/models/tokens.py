"""API tokens: what other systems present instead of a password."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import Model
from campaign.models.base import utcnow
from campaign.models.users import User


class ApiToken(Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The token acts with this user's role and scope.
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: What the token is for, e.g. "Trung tâm máu tỉnh".
    name: Mapped[str] = mapped_column(String(100), default="")
    #: SHA-256 of the token, hex; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Last request made with the token, to the nearest few minutes.
    last_used_at: Mapped[datetime | None]
    #: When the token was revoked; a revoked token is refused.
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None
