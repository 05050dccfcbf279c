"""The models, imported here so Alembic and the app see every table."""

from campaign.models.audit import AuditEntry
from campaign.models.imports import ImportKind, PendingImport
from campaign.models.plans import TARGET_COLUMNS, Drive, Plan, PlanDocument, PlanStatus, Quota
from campaign.models.reminders import ReminderSent
from campaign.models.results import COUNTED_STATES, Result, ResultState
from campaign.models.tokens import ApiToken
from campaign.models.units import DataStamp, FiguresChange, OrgUnit, UnitKind, UnitMove
from campaign.models.users import MANAGERS, TREE_READERS, WRITERS, Role, User, user_unit

__all__ = [
    "COUNTED_STATES",
    "TARGET_COLUMNS",
    "MANAGERS",
    "TREE_READERS",
    "WRITERS",
    "ApiToken",
    "AuditEntry",
    "Drive",
    "ImportKind",
    "OrgUnit",
    "Plan",
    "PlanDocument",
    "PendingImport",
    "PlanStatus",
    "Quota",
    "ReminderSent",
    "Result",
    "ResultState",
    "Role",
    "User",
    "UnitKind",
    "UnitMove",
    "DataStamp",
    "FiguresChange",
    "user_unit",
]
