"""Accounts, their role and the units they act for."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from campaign import labels
from campaign.extensions import Model, db
from campaign.models.base import one_of, utcnow
from campaign.models.units import OrgUnit


class Role(StrEnum):
    ADMIN = "admin"
    ORGANISER = "organiser"
    REPORTER = "reporter"
    LEADER = "leader"


# The role groups, defined once: views, templates and the scope's rules use these.
#: Who runs the campaign: plans and their quotas, units, imports and the review queue.
MANAGERS = (Role.ADMIN, Role.ORGANISER)
#: Who sees the unit tree: the managers, and leaders over their subtree.
TREE_READERS = (*MANAGERS, Role.LEADER)
#: Who changes anything (results included): everyone but leaders, who read.
WRITERS = (*MANAGERS, Role.REPORTER)


#: The roots of a user's scope: an organiser's or leader's subtree, a reporter's units.
user_unit = Table(
    "user_unit",
    db.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, Model):
    __tablename__ = "user_account"
    __table_args__ = (one_of("role", Role, "role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    #: werkzeug's salted hash (scrypt by default); never the password itself.
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    #: One of :class:`Role`.
    role: Mapped[str] = mapped_column(String(20))
    #: A disabled account cannot sign in, and its open sessions end.
    enabled: Mapped[bool] = mapped_column(default=True)
    #: Part of every session; bumping it ends the user's other sessions.
    session_version: Mapped[int] = mapped_column(default=1)
    #: Set with a one-time password from an administrator: until the user picks their own,
    #: the account reaches only the password page (and signing out).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    units: Mapped[list[OrgUnit]] = relationship(secondary=user_unit, order_by="OrgUnit.name")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.enabled

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def role_label(self) -> str:
        return str(labels.ROLE[self.role])
