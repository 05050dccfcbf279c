"""A unit, a plan or a drive changed in what the figures never read leaves the stamps as
they were: a contact person, a plan's title or address, a drive's site or deadline

Until now every write to ``org_unit``, ``plan`` or ``drive`` took a step the readers could
not follow: a contact's phone typed on a unit's page, a plan published, or a drive's
report deadline moved made a national plan's figures (and, for a unit, its tree) anew.
Now an update stamps only when it sets a column the tree or the figures are made from:

- ``org_unit``: its place in the tree, code, name, kind, dates and merger;
- ``plan``: its issuer, date, year, counting rule, parent, the plan it is compared with,
  its status and its targets;
- ``drive``: its plan and its days (the months are the days' months).

An insert or a delete stamps as before, whatever it holds. The triggers are otherwise the
same (migration ``figures_changes``).

Revision ID: 7c5e3a1f9d24
Revises: d41f7b2c8e63
Create Date: 2026-12-07 12:00:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "7c5e3a1f9d24"
down_revision = "d41f7b2c8e63"
branch_labels = None
depends_on = None

#: The columns of each table whose update stamps; an update setting none of them does not.
STAMPED = {
    "org_unit": (
        "id", "parent_id", "code", "name", "kind", "valid_from", "valid_to", "merged_into_id",
    ),
    "plan": (
        "id", "issuer_id", "issued_on", "year", "counting_rule", "parent_id",
        "compare_with_id", "status", "min_large_bag_percent", "min_repeat_percent",
        "min_participation_percent",
    ),
    "drive": ("id", "plan_id", "starts_on", "ends_on"),
}  # fmt: skip
WHAT = {"org_unit": "tree", "plan": "figures", "drive": "plans"}


def _on_postgresql():
    return op.get_bind().dialect.name == "postgresql"


def _previous():
    """The revision before: its triggers come back with the downgrade."""
    return op.get_context().script.get_revision(down_revision).module


def _pg_statement_trigger(table, events):
    return _previous().PG_TRIGGER.format(table=table, events=events, what=WHAT[table])


def _pg_update_events(table):
    updated = "UPDATE OF " + ", ".join(STAMPED[table])
    truncate = "" if table == "drive" else " OR TRUNCATE"  # drive's has a trigger of its own
    return f"INSERT OR {updated} OR DELETE{truncate}"


def _pg_drive_update_logged(update):
    """The row trigger that logs the plans of a drive updated, on ``update``."""
    previous = _previous()
    rows = previous.PG_PLAN_ROWS["update"]
    condition = " OR ".join(previous.PG_PLAN_ROW.format(table="drive", row=row) for row in rows)
    trigger = previous.PG_PLAN_TRIGGER.format(table="drive", event="update", rows=condition)
    return trigger.replace("AFTER update ON drive", f"AFTER {update} ON drive")


def _sqlite_update_trigger(table, of):
    """The SQLite trigger of an update to ``table``, on the columns ``of`` (or any)."""
    previous = _previous()
    if table == "drive":
        trigger = previous._sqlite_logged_step("drive", "update")
    else:
        trigger = previous.SQLITE_STEP.format(
            table=table,
            event="update",
            token=previous.SQLITE_TOKEN,
            sets=previous.SQLITE_SETS[WHAT[table]],
        )
    if of:
        trigger = trigger.replace(
            f"AFTER update ON {table}", f"AFTER UPDATE OF {', '.join(of)} ON {table}"
        )
    return trigger


def _replace(narrow):
    """The update triggers of the three tables, on their stamped columns (``narrow``) or
    on any column."""
    if _on_postgresql():
        for table in STAMPED:
            op.execute(f"DROP TRIGGER {table}_changes_data ON {table}")
            events = _pg_update_events(table) if narrow else _previous().ALL_EVENTS
            if table == "drive" and not narrow:
                events = _previous().ROW_EVENTS
            op.execute(_pg_statement_trigger(table, events))
        op.execute("DROP TRIGGER drive_update_plan_logged ON drive")
        update = "UPDATE OF " + ", ".join(STAMPED["drive"]) if narrow else "UPDATE"
        op.execute(_pg_drive_update_logged(update))
    else:
        for table in STAMPED:
            op.execute(f"DROP TRIGGER {table}_update_changes_data")
            op.execute(_sqlite_update_trigger(table, STAMPED[table] if narrow else ()))


def upgrade():
    _replace(narrow=True)


def downgrade():
    _replace(narrow=False)
