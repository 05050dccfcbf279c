"""Organisational units: the tree that plans, quotas and results hang on."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign import labels
from campaign.extensions import Model
from campaign.models.base import one_of


class UnitKind(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    WARD = "ward"
    #: Đặc khu: an island commune-level unit, from 1 July 2025.
    SPECIAL_ZONE = "special_zone"
    TOWN = "town"
    AGENCY = "agency"
    SCHOOL = "school"
    ENTERPRISE = "enterprise"
    ARMED_FORCES = "armed_forces"
    UNION = "union"
    OTHER = "other"


class OrgUnit(Model):
    __tablename__ = "org_unit"
    __table_args__ = (
        one_of("kind", UnitKind, "kind_known"),
        CheckConstraint(
            "valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to",
            name="validity_ordered",
        ),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short stable code used by imports and the API, e.g. ``QX-QBINH``; kept as typed, but
    #: unique and looked up whatever its case (``uq_org_unit_code_lower``).
    code: Mapped[str] = mapped_column(String(32), unique=True)
    #: The statistics office's code of an administrative unit, e.g. "16543" (Xã Quảng Bình
    #: from 2025-07-01). Codes are reused across reforms, so a code names a unit only with
    #: its validity dates: two units valid on a same day never share one (services.units).
    official_code: Mapped[str | None] = mapped_column(String(16), index=True)
    #: Name as written in reports, e.g. "Quảng Bình".
    name: Mapped[str] = mapped_column(String(200))
    #: One of :class:`UnitKind`.
    kind: Mapped[str] = mapped_column(String(20))
    #: The unit directly above; ``None`` for a root (a province).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: First day the unit exists; ``None`` means no lower bound.
    valid_from: Mapped[date | None]
    #: Last day the unit exists; ``None`` means no upper bound.
    valid_to: Mapped[date | None]
    #: The unit this one was merged into when it ceased (the 2025 commune mergers).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: Person to call about the unit's reports, and their phone.
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    #: Where reminders to report go (services.reminders); checked as an address.
    contact_email: Mapped[str | None] = mapped_column(String(254))

    parent: Mapped[OrgUnit | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list[OrgUnit]] = relationship(
        foreign_keys=[parent_id], back_populates="parent", order_by="OrgUnit.name"
    )
    merged_into: Mapped[OrgUnit | None] = relationship(
        remote_side=[id], foreign_keys=[merged_into_id]
    )

    @property
    def kind_label(self) -> str:
        return str(labels.UNIT_KIND[self.kind])

    def is_valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.name!r}>"


# "qx-binh" and "QX-BINH" are one code: a lookup by either finds the one unit. The
# database compares with its own lower(), as every lookup does (units.code_is).
Index("uq_org_unit_code_lower", func.lower(OrgUnit.code), unique=True)


class UnitMove(Model):
    """A unit put under another parent, and from which day: plans issued before that day
    still count the unit (and everything under it) where it was then."""

    __tablename__ = "unit_move"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"), index=True)
    #: The parent before the move; ``None`` when the unit was a root.
    from_parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    #: The parent from ``moved_on``; ``None`` when the unit became a root.
    to_parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    #: The first day under the new parent.
    moved_on: Mapped[date] = mapped_column(index=True)


class DataStamp(Model):
    """One row of two tokens that database triggers change in the writing transaction,
    whatever wrote (the app, an import, a hand-typed statement): ``tree`` with every write
    to the unit tree (``org_unit``, ``unit_move``), ``figures`` with those and every write
    to a plan, a drive, a quota or a result. A reader that keeps what it made from them,
    keyed by the tokens (``services.kept``), can never use it once stale.
    """

    __tablename__ = "data_stamp"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tree: Mapped[str] = mapped_column(String(32))
    figures: Mapped[str] = mapped_column(String(32))
    #: On PostgreSQL, the transaction that last set each token (``txid_current()``): the
    #: triggers set it once per transaction, so that transaction's own later writes leave
    #: it as it is, and it keeps nothing while it has written (``services.kept``).
    tree_writer: Mapped[int | None] = mapped_column(BigInteger)
    figures_writer: Mapped[int | None] = mapped_column(BigInteger)
    #: The figures' steps so far: one per writing transaction on PostgreSQL, one per row
    #: written on SQLite; ``figures`` is the token after the last.
    figures_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")


class FiguresChange(Model):
    """A result row written in a step of the figures, as it was (``sign`` -1) or became
    (+1), or the plan of a quota or a drive written, or a plan written and its parent,
    with the tokens before and after its step; a row of neither says that its step wrote
    a unit, or too many rows. The
    triggers write these rows and keep the last steps only: a reader brings kept figures
    up to date with them (``services.kept``)."""

    __tablename__ = "figures_change"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    prev: Mapped[str | None] = mapped_column(String(32))
    token: Mapped[str | None] = mapped_column(String(32))
    sign: Mapped[int | None] = mapped_column(SmallInteger)
    unit_id: Mapped[int | None]
    drive_id: Mapped[int | None]
    state: Mapped[str | None]
    registered: Mapped[int | None]
    deferred: Mapped[int | None]
    bags_250: Mapped[int | None]
    bags_350: Mapped[int | None]
    bags_450: Mapped[int | None]
    repeat_donors: Mapped[int | None]
    plan_id: Mapped[int | None]
