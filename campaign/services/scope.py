"""What a signed-in user may see and change.

Every view and service asks a :class:`Scope`, never a template: an organiser
and a leader act for their units and everything below them, a reporter for
exactly their own units, an administrator for everything.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cached_property

from sqlalchemy import ColumnElement, Select, exists, or_, select

from campaign.extensions import db
from campaign.models import (
    TREE_READERS,
    WRITERS,
    Drive,
    OrgUnit,
    Plan,
    PlanStatus,
    Quota,
    Result,
    ResultState,
    Role,
    User,
    user_unit,
)


def tree_ids(
    model: type[OrgUnit] | type[Plan], start: ColumnElement[bool], name: str
) -> Select[tuple[int]]:
    """Ids of the rows ``start`` picks and of every row below them, through ``parent_id``.

    ``name`` names the recursive query: two in one statement must differ."""
    tree = select(model.id).where(start).cte(name, recursive=True)
    tree = tree.union_all(select(model.id).where(model.parent_id == tree.c.id))
    return select(tree.c.id)


def subtree_ids(root_ids: Select[tuple[int]]) -> Select[tuple[int]]:
    """Ids of the given units and of every unit below them."""
    return tree_ids(OrgUnit, OrgUnit.id.in_(root_ids), "scope_tree")


def ancestor_ids(unit_id: int) -> Select[tuple[int]]:
    """Ids of the unit and of every unit above it."""
    start = select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.id == unit_id)
    chain = start.cte("unit_chain", recursive=True)
    chain = chain.union_all(
        select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.id == chain.c.parent_id)
    )
    return select(chain.c.id)


#: Units a scope checks one by one, each by its ancestors, before it reads all of its units
#: at once: a page checks one or two (a province leader's scope is a hundred thousand units
#: in a national database), an import one per row.
CHECKED_ALONE = 8


class Scope:
    def __init__(self, user: User) -> None:
        self.user = user
        self._checked_alone = 0

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.ADMIN

    @property
    def can_write(self) -> bool:
        """Leaders read; the other roles change what their scope allows."""
        return self.user.role in WRITERS

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

    def units_of_plan(self, plan: Plan) -> Select[tuple[int]]:
        """The units of ``plan``'s tree the user may see: the issuer's subtree when the user
        sees the issuer (a far smaller query than a province leader's whole scope), else
        the scope's own units. What a drive's reporting counts, on every page and the API."""
        if self.user.role != Role.REPORTER and self.covers(plan.issuer_id):
            return tree_ids(OrgUnit, OrgUnit.id == plan.issuer_id, "plan_issuer_tree")
        return self.unit_ids()

    def covers(self, unit_id: int) -> bool:
        """Whether the unit is in one of the user's subtrees, asked without reading them."""
        if self.is_admin:
            return True
        chain = ancestor_ids(unit_id)
        found = select(user_unit.c.unit_id).where(
            user_unit.c.user_id == self.user.id, user_unit.c.unit_id.in_(chain)
        )
        return db.session.scalar(found.limit(1)) is not None

    @cached_property
    def _unit_id_set(self) -> frozenset[int] | None:
        if self.is_admin:
            return None
        return frozenset(db.session.scalars(self.unit_ids()))

    def can_see_unit(self, unit: OrgUnit) -> bool:
        if self.is_admin:
            return True
        read = "_unit_id_set" in self.__dict__
        if read or self.user.role == Role.REPORTER or self._checked_alone >= CHECKED_ALONE:
            return unit.id in (self._unit_id_set or ())
        self._checked_alone += 1
        return unit.id is not None and self.covers(unit.id)

    def can_manage_unit(self, unit: OrgUnit) -> bool:
        """Organisers keep the unit list below their roots (not their roots themselves)."""
        if self.is_admin:
            return True
        if self.user.role != Role.ORGANISER or unit.parent_id is None:
            return False
        return unit.parent_id in (self._unit_id_set or ())

    def can_add_unit(self, parent: OrgUnit | None) -> bool:
        """Organisers add units under any unit of their scope; only administrators add roots.

        A parent made since the scope's ids were read (an earlier row of the same import)
        is in the scope when a unit above it is: an organiser's scope is whole subtrees."""
        if self.is_admin:
            return True
        if parent is None or self.user.role != Role.ORGANISER:
            return False
        seen = self._unit_id_set or frozenset()
        unit: OrgUnit | None = parent
        while unit is not None:
            if unit.id in seen:
                return True
            unit = unit.parent
        return False

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

    def followed_plans(self, plan_ids: Collection[int]) -> frozenset[int]:
        """Of ``plan_ids``, those whose drives the user follows on a drive's page
        (``reports.drive``): the plans they see, for the roles that read a tree. One query
        where each plan is issued inside the scope (two otherwise), however many plans:
        a unit's page lists the drives of a plan tree, a national one has hundreds of
        plans, and :meth:`can_see_plan` asks one query each."""
        if self.user.role not in TREE_READERS or not plan_ids:
            return frozenset()
        if self.is_admin:
            return frozenset(plan_ids)
        # Up each plan's issuer's chain to one of the user's roots (what covers() asks).
        start = (
            select(Plan.id.label("plan_id"), OrgUnit.id, OrgUnit.parent_id)
            .join(OrgUnit, OrgUnit.id == Plan.issuer_id)
            .where(Plan.id.in_(list(plan_ids)))
        )
        chain = start.cte("issuer_chains", recursive=True)
        chain = chain.union_all(
            select(chain.c.plan_id, OrgUnit.id, OrgUnit.parent_id).where(
                OrgUnit.id == chain.c.parent_id
            )
        )
        issued_inside = select(chain.c.plan_id).where(chain.c.id.in_(self.root_ids)).distinct()
        followed = set(db.session.scalars(issued_inside))
        rest = [plan_id for plan_id in plan_ids if plan_id not in followed]
        if rest:  # issued outside the scope: seen if they give a quota inside it
            query = self.plans().where(Plan.id.in_(rest)).with_only_columns(Plan.id)
            followed.update(db.session.scalars(query))
        return frozenset(followed)

    def can_see_plan(self, plan: Plan) -> bool:
        if self.user.role != Role.REPORTER and self.covers(plan.issuer_id):
            return True  # issued inside the scope: asked without reading the scope
        query = self.plans().where(Plan.id == plan.id).with_only_columns(Plan.id)
        return db.session.scalar(query) is not None

    def can_manage_plan(self, plan: Plan) -> bool:
        """Organisers change the plans their own scope issued."""
        if self.is_admin:
            return True
        return self.user.role == Role.ORGANISER and self.covers(plan.issuer_id)

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
        return self.user.role in WRITERS and self.can_see_unit(unit)

    def can_review(self, result: Result) -> bool:
        drive = db.session.get(Drive, result.drive_id)
        return (
            drive is not None
            and self.can_manage_plan(drive.plan)
            and self.can_see_unit(result.unit)
        )

    def can_see_result(self, result: Result) -> bool:
        return self.can_see_unit(result.unit) or self.can_review(result)

    def reporting_units(self) -> Select[tuple[OrgUnit]]:
        """The units a user reports for from "my units": their own scope roots."""
        return (
            select(OrgUnit)
            .join(user_unit, user_unit.c.unit_id == OrgUnit.id)
            .where(user_unit.c.user_id == self.user.id)
        )

    @staticmethod
    def open_drives(unit: OrgUnit) -> Select[tuple[Drive]]:
        """Drives of active plans issued at or above ``unit``: any unit below a plan's
        issuer may report to it."""
        return (
            select(Drive)
            .join(Plan, Plan.id == Drive.plan_id)
            .where(
                Plan.status == PlanStatus.ACTIVE.value,
                Plan.issuer_id.in_(ancestor_ids(unit.id)),
            )
        )

    def is_open_for(self, drive: Drive, unit: OrgUnit) -> bool:
        query = self.open_drives(unit).where(Drive.id == drive.id).with_only_columns(Drive.id)
        return db.session.scalar(query) is not None

    # --- review --------------------------------------------------------------

    def managed_plan_ids(self, units: Select[tuple[int]] | None = None) -> Select[tuple[int]]:
        """Plans whose results the user reviews: those their scope issued."""
        if self.is_admin:
            return select(Plan.id)
        if self.user.role != Role.ORGANISER:
            return select(Plan.id).where(Plan.id.is_(None))
        return select(Plan.id).where(
            Plan.issuer_id.in_(units if units is not None else self.unit_ids())
        )

    def reviewable_results(self) -> Select[tuple[Result]]:
        # One unit-tree CTE for both conditions: two of the same name do not compile.
        units = self.unit_ids()
        query = (
            select(Result)
            .join(Drive, Drive.id == Result.drive_id)
            .where(Drive.plan_id.in_(self.managed_plan_ids(units)))
        )
        if not self.is_admin:
            query = query.where(Result.unit_id.in_(units))
        return query

    def review_queue(self) -> Select[tuple[Result]]:
        return self.reviewable_results().where(Result.state == ResultState.SUBMITTED.value)

    def managed_drives(self) -> Select[tuple[Drive]]:
        return select(Drive).where(Drive.plan_id.in_(self.managed_plan_ids()))

    # --- history -------------------------------------------------------------

    def can_see_history(self, entity: str, entity_id: int) -> bool | None:
        """Whether the user may read a record's history; ``None`` when there is no such record."""
        model = HISTORY_MODELS.get(entity)
        obj = db.session.get(model, entity_id) if model is not None else None
        if obj is None:
            return None
        if isinstance(obj, User):
            return self.is_admin
        if isinstance(obj, OrgUnit):
            return self.can_see_unit(obj)
        if isinstance(obj, Result):
            return self.can_see_result(obj)
        plan = obj if isinstance(obj, Plan) else obj.plan
        return self.can_see_plan(plan)


#: The records whose history can be read, by their audit entity name.
HISTORY_MODELS: dict[str, type] = {
    "result": Result,
    "org_unit": OrgUnit,
    "plan": Plan,
    "drive": Drive,
    "quota": Quota,
    "user_account": User,
}
