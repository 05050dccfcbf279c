"""Plans, the documents they cite, their drives and the quotas they give."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign import labels
from campaign.extensions import Model
from campaign.models.base import not_negative, one_of, percent_or_null
from campaign.models.units import OrgUnit
from campaign.rates import CountingRule, Targets


class PlanStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


#: The plan's targets beyond blood units, in the order of :class:`campaign.rates.Targets`.
TARGET_COLUMNS = ("min_large_bag_percent", "min_repeat_percent", "min_participation_percent")


class Plan(Model):
    """A plan (Kế hoạch) of one issuing unit, e.g. "276/KH-BCĐTH" of 28/12/2020."""

    __tablename__ = "plan"
    __table_args__ = (
        one_of("counting_rule", CountingRule, "counting_rule_known"),
        one_of("status", PlanStatus, "status_known"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        *percent_or_null(*TARGET_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The unit whose steering committee issued the plan; quotas go to units below it.
    issuer_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: Document number and symbol as written, e.g. "276/KH-BCĐTH".
    number: Mapped[str] = mapped_column(String(60))
    #: Date of issue; with the number it identifies the document (numbers restart yearly).
    issued_on: Mapped[date]
    #: Subject line, e.g. "Tuyên truyền vận động, tổ chức hiến máu tình nguyện năm 2021".
    title: Mapped[str] = mapped_column(String(500))
    #: The campaign year the plan is for (may differ from the year of issue).
    year: Mapped[int] = mapped_column(index=True)
    #: How donations become blood units: one of :class:`campaign.rates.CountingRule`.
    counting_rule: Mapped[str] = mapped_column(String(10), default=CountingRule.BAG.value)
    #: The plan above, whose quota for this issuer this plan splits.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"), index=True)
    #: One of :class:`PlanStatus`; a closed plan is read-only.
    status: Mapped[str] = mapped_column(String(10), default=PlanStatus.ACTIVE.value)
    #: Free text shown with the plan, e.g. that its figures are samples.
    note: Mapped[str | None] = mapped_column(Text)
    #: Targets beyond blood units, each optional, a whole percentage 1-100 (DOMAIN.md):
    #: at least this share of donations in 350 or 450 ml bags,
    min_large_bag_percent: Mapped[int | None]
    #: of donors who had donated before,
    min_repeat_percent: Mapped[int | None]
    #: and of each quota holder's headcount donating.
    min_participation_percent: Mapped[int | None]
    #: The random part of the plan's public address while its progress is published
    #: (``None`` when it is not): unguessable, and new each time it is published again.
    public_slug: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: The earlier plan whose figures this one is read against ("so với cùng kỳ"): by
    #: default the same issuer's plan of the year before, when there is one.
    compare_with_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan.id", ondelete="SET NULL"), index=True
    )

    issuer: Mapped[OrgUnit] = relationship()
    parent: Mapped[Plan | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list[Plan]] = relationship(
        back_populates="parent", foreign_keys="Plan.parent_id"
    )
    compare_with: Mapped[Plan | None] = relationship(
        remote_side=[id], foreign_keys=[compare_with_id]
    )
    documents: Mapped[list[PlanDocument]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanDocument.issued_on"
    )
    drives: Mapped[list[Drive]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="Drive.starts_on"
    )

    @property
    def is_public(self) -> bool:
        return self.public_slug is not None

    @property
    def rule(self) -> CountingRule:
        return CountingRule(self.counting_rule)

    @property
    def target_percents(self) -> dict[str, int | None]:
        return {column: getattr(self, column) for column in TARGET_COLUMNS}

    @property
    def targets(self) -> Targets:
        return Targets(*(getattr(self, column) for column in TARGET_COLUMNS))

    @property
    def status_label(self) -> str:
        return str(labels.PLAN_STATUS[self.status])

    @property
    def rule_label(self) -> str:
        return str(labels.COUNTING_RULE[self.counting_rule])

    def __repr__(self) -> str:
        return f"<Plan {self.number} {self.issued_on}>"


class PlanDocument(Model):
    """A document a plan cites: a dispatch (Công văn) that adjusts or implements it."""

    __tablename__ = "plan_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    #: Number and symbol as written, e.g. "78/BCĐTH" (a công văn has no type code).
    number: Mapped[str] = mapped_column(String(60))
    issued_on: Mapped[date]
    #: Issuing body as written, e.g. "Ban chỉ đạo vận động HMTN tỉnh Thanh Hóa".
    issuer: Mapped[str] = mapped_column(String(300))
    #: Subject line (trích yếu).
    summary: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[Plan] = relationship(back_populates="documents")


class Drive(Model):
    """A donation drive (đợt hiến máu) of one plan."""

    __tablename__ = "drive"
    __table_args__ = (CheckConstraint("starts_on <= ends_on", name="dates_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    #: Where donors go, e.g. "Trung tâm Hội nghị huyện".
    site: Mapped[str] = mapped_column(String(300), default="")
    #: The last day (Vietnam date) a unit's report is on time; by default three days
    #: after the drive's last day (:func:`campaign.rates.default_report_due`). Never before
    #: its last day (services.plans; no CHECK: SQLite cannot add one in place).
    report_due_on: Mapped[date]

    plan: Mapped[Plan] = relationship(back_populates="drives")


class Quota(Model):
    """The blood units a plan asks of one unit; at most one per plan and unit."""

    __tablename__ = "quota"
    __table_args__ = (
        UniqueConstraint("plan_id", "unit_id", name="uq_quota_plan_unit"),
        *not_negative("amount", "headcount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    #: Blood units, counted by the plan's counting rule.
    amount: Mapped[int]
    #: The staff, students or members the unit counts, for the participation target.
    headcount: Mapped[int | None]

    plan: Mapped[Plan] = relationship()
    unit: Mapped[OrgUnit] = relationship()
