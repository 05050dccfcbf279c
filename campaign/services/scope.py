"""What a signed-in user may see and change.

Every view and service asks a :class:`Scope`, never a template: an organiser
and a leader act for their units and everything below them, a reporter for
exactly their own units, an administrator for everything.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import Select, exists, or_, select

from campaign.extensions import db
from campaign.models import Drive, OrgUnit, Plan, Quota, Result, Role, User, user_unit


def subtree_ids(root_ids: Select[tuple[int]]) -> Select[tuple[int]]:
    """Ids of the given units and of every unit below them."""
    tree = select(OrgUnit.id).where(OrgUnit.id.in_(root_ids)).cte("scope_tree", recursive=True)
    tree = tree.union_all(select(OrgUnit.id).where(OrgUnit.parent_id == tree.c.id))
    return select(tree.c.id)


def ancestor_ids(unit_id: int) -> Select[tuple[int]]:
    """Ids of the unit and of every unit above it."""
    chain = select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.id == unit_id)
    chain = chain.cte("unit_chain", recursive=True)
    chain = chain.union_all(
        select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.id == chain.c.parent_id)
    )
    return select(chain.c.id)


class Scope:
    def __init__(self, user: User) -> None:
        self.user = user

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.ADMIN

    @property
    def can_write(self) -> bool:
        """Leaders read; the other roles change what their scope allows."""
        return self.user.role != Role.LEADER

    @property
    def root_ids(self) -> Select[tuple[int]]:
        return select(user_unit.c.unit_id).where(user_unit.c.user_id == self.user.id)

    def unit_ids(self) -> Select[tuple[int]]:
        """Units the user may see: a reporter's own, else their subtrees (all for admin)."""
        if self.is_admin:
            return select(OrgUnit.id)
        if self.user.role == Role.REPORTER:
            return self.root_ids
        return subtree_ids(self.root_ids)

    @cached_property
    def _unit_id_set(self) -> frozenset[int] | None:
        if self.is_admin:
            return None
        return frozenset(db.session.scalars(self.unit_ids()))

    def can_see_unit(self, unit: OrgUnit) -> bool:
        return self._unit_id_set is None or unit.id in self._unit_id_set

    def can_manage_unit(self, unit: OrgUnit) -> bool:
        """Organisers keep the unit list below their roots (not their roots themselves)."""
        if self.is_admin:
            return True
        if self.user.role != Role.ORGANISER or unit.parent_id is None:
            return False
        return unit.parent_id in (self._unit_id_set or ())

    def can_add_unit(self, parent: OrgUnit | None) -> bool:
        """Organisers add units under any unit of their scope; only administrators add roots."""
        if self.is_admin:
            return True
        return parent is not None and self.user.role == Role.ORGANISER and self.can_see_unit(parent)

    # --- plans ---------------------------------------------------------------

    def can_issue_plan(self, issuer: OrgUnit) -> bool:
        """Organisers record the plans that units of their scope issue."""
        if self.is_admin:
            return True
        return self.user.role == Role.ORGANISER and self.can_see_unit(issuer)

    def plans(self) -> Select[tuple[Plan]]:
        """Plans issued inside the scope, or giving a quota to a unit inside it."""
        if self.is_admin:
            return select(Plan)
        if self.user.role == Role.REPORTER:
            return select(Plan).where(Plan.id.is_(None))
        units = self.unit_ids()
        gives_quota = exists().where(Quota.plan_id == Plan.id, Quota.unit_id.in_(units))
        return select(Plan).where(or_(Plan.issuer_id.in_(units), gives_quota))

    def can_see_plan(self, plan: Plan) -> bool:
        query = self.plans().where(Plan.id == plan.id).with_only_columns(Plan.id)
        return db.session.scalar(query) is not None

    def can_manage_plan(self, plan: Plan) -> bool:
        """Organisers change the plans their own scope issued."""
        if self.is_admin:
            return True
        return self.user.role == Role.ORGANISER and self.can_see_unit(plan.issuer)

    # --- results -------------------------------------------------------------

    def can_see_drive(self, drive: Drive) -> bool:
        """The drives of visible plans; a reporter's, when the plan's issuer is above their unit
        (any unit under the issuer may report, with or without a quota)."""
        if self.can_see_plan(drive.plan):
            return True
        if self.user.role != Role.REPORTER:
            return False
        issuer_id = drive.plan.issuer_id
        return any(
            issuer_id in db.session.scalars(ancestor_ids(unit.id)) for unit in self.user.units
        )

    def can_report(self, unit: OrgUnit) -> bool:
        """Reporters report for their own units; organisers may enter results for theirs."""
        if self.is_admin:
            return True
        return self.user.role in (Role.REPORTER, Role.ORGANISER) and self.can_see_unit(unit)

    def can_review(self, result: Result) -> bool:
        drive = db.session.get(Drive, result.drive_id)
        return (
            drive is not None
            and self.can_manage_plan(drive.plan)
            and self.can_see_unit(db.session.get(OrgUnit, result.unit_id))
        )
