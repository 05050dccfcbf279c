"""Writing the audit trail."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, inspect, select

from campaign.extensions import db
from campaign.models import AuditEntry, User
from campaign.models.base import utcnow


def snapshot(obj: Any) -> dict[str, Any]:
    """The column values of a model instance, as JSON-friendly values."""
    values = {}
    for attr in inspect(obj).mapper.column_attrs:
        value = getattr(obj, attr.key)
        if attr.key == "password_hash":
            continue
        values[attr.key] = value.isoformat() if isinstance(value, date | datetime) else value
    return values


def record(
    action: str,
    obj: Any = None,
    *,
    user: User | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    entity: str | None = None,
    note: str | None = None,
) -> AuditEntry:
    """Adds an audit entry for ``obj`` (flushed first so a new row has its id)."""
    if obj is not None:
        db.session.flush()
    entry = AuditEntry(
        user_id=user.id if user is not None else None,
        action=action,
        entity=entity or (type(obj).__tablename__ if obj is not None else "system"),
        entity_id=getattr(obj, "id", None),
        before=before,
        after=after if after is not None or obj is None else snapshot(obj),
        note=note,
    )
    db.session.add(entry)
    return entry


def record_many(
    action: str,
    entity: str,
    changes: Iterable[tuple[int, dict[str, Any] | None, dict[str, Any]]],
    *,
    user: User | None = None,
) -> None:
    """One entry per (entity id, before, after), in one insert: what a bulk write leaves."""
    at, user_id = utcnow(), user.id if user is not None else None
    rows = [
        {
            "at": at,
            "user_id": user_id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "before": before,
            "after": after,
        }
        for entity_id, before, after in changes
    ]
    if rows:
        db.session.execute(insert(AuditEntry.__table__), rows)


def import_summary(written: dict[int, Any], changed: int) -> dict[str, Any]:
    """What one file import wrote: how many records were new or changed, and per unit id
    the values written (shown apart from the other fields on a history page)."""
    return {
        "new": len(written) - changed,
        "changed": changed,
        "units": {str(unit_id): value for unit_id, value in written.items()},
    }


def history(entity: str, entity_id: int) -> list[AuditEntry]:
    """A record's audit entries, oldest first."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return list(db.session.scalars(query))


def changes(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for every value the entry changed; all values of a new record."""
    before, after = entry.before or {}, entry.after or {}
    skip = {"version", "updated_at", "units"}
    return [
        (key, before.get(key), after.get(key))
        for key in sorted(before.keys() | after.keys())
        if key not in skip and before.get(key) != after.get(key)
    ]


def users_by_id(entries: list[AuditEntry]) -> dict[int, User]:
    ids = {e.user_id for e in entries if e.user_id is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
