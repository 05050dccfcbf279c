"""A unit renamed logs its id in the figures' step: the figures kept are brought along it,
not made again

Until now an update of a unit's code, name or kind took a step no reader follows: a
commune's name corrected made a national plan's figures anew (two seconds). A new code,
name or kind changes no figure, only what a line shows and where it stands among its
siblings (in order of name). Now such an update logs, under the step, ``state``
'unit_renamed' with the unit's id in ``unit_id`` (and no drive), and the step still changes
the tree's token: the trees are read anew, the figures are brought along
(``services.summary``). An update of a unit's place, dates or merger is a step no reader
follows, as before, and so is one that sets any of those with a new name.

Revision ID: 6d1e4b7a9c03
Revises: 3b9d6f2a8c15
Create Date: 2026-12-08 03:15:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "6d1e4b7a9c03"
down_revision = "3b9d6f2a8c15"
branch_labels = None
depends_on = None

FIGURES_CHANGES = "d41f7b2c8e63"
STAMPED_COLUMNS = "7c5e3a1f9d24"
#: What a unit shows: an update of these alone is followed.
SHOWN = ("code", "name", "kind")


def _module(revision_id):
    return op.get_context().script.get_revision(revision_id).module


def _on_postgresql():
    return op.get_bind().dialect.name == "postgresql"


def _placed():
    """The columns of a unit's place in the tree, its dates and merger."""
    return tuple(c for c in _module(STAMPED_COLUMNS).STAMPED["org_unit"] if c not in SHOWN)


PG_TRIGGER = """
CREATE TRIGGER org_unit_renamed_logged
AFTER UPDATE OF {shown} ON org_unit FOR EACH ROW
WHEN (current_setting('campaign.figures_whole', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION unit_renamed_logged()
"""


def _pg_statement_trigger(name, events, what):
    logging = _module(FIGURES_CHANGES)
    trigger = logging.PG_TRIGGER.format(table="org_unit", events=events, what=what)
    return trigger.replace("org_unit_changes_data", name)


def _pg_upgrade():
    op.execute("DROP TRIGGER org_unit_changes_data ON org_unit")
    placed = "UPDATE OF " + ", ".join(_placed()) + " OR DELETE OR TRUNCATE"
    op.execute(_pg_statement_trigger("org_unit_changes_data", placed, "tree"))
    shown = "UPDATE OF " + ", ".join(SHOWN)
    op.execute(_pg_statement_trigger("org_unit_renamed_changes_data", shown, "units"))
    op.execute(_module(down_revision).pg_unit_function("unit_renamed_logged", "unit_renamed"))
    op.execute(PG_TRIGGER.format(shown=", ".join(SHOWN)))


def _pg_downgrade():
    stamped = _module(STAMPED_COLUMNS)
    op.execute("DROP TRIGGER org_unit_renamed_logged ON org_unit")
    op.execute("DROP FUNCTION unit_renamed_logged()")
    op.execute("DROP TRIGGER org_unit_renamed_changes_data ON org_unit")
    op.execute("DROP TRIGGER org_unit_changes_data ON org_unit")
    events = stamped._pg_update_events("org_unit").replace("INSERT OR ", "")
    op.execute(stamped._pg_statement_trigger("org_unit", events))


def _sqlite_renamed():
    """As the revision before logs a unit added: under the next step, with a new tree token."""
    trigger = _module(down_revision).sqlite_unit_trigger("renamed", "unit_renamed")
    return trigger.replace(
        "AFTER renamed ON org_unit", f"AFTER UPDATE OF {', '.join(SHOWN)} ON org_unit"
    )


def _sqlite_update(columns):
    stamped = _module(STAMPED_COLUMNS)
    return stamped._sqlite_update_trigger("org_unit", columns)


def upgrade():
    if _on_postgresql():
        _pg_upgrade()
    else:
        op.execute("DROP TRIGGER org_unit_update_changes_data")
        op.execute(_sqlite_update(_placed()))
        op.execute(_sqlite_renamed())


def downgrade():
    if _on_postgresql():
        _pg_downgrade()
    else:
        op.execute("DROP TRIGGER org_unit_renamed_changes_data")
        op.execute("DROP TRIGGER org_unit_update_changes_data")
        op.execute(_sqlite_update(_module(STAMPED_COLUMNS).STAMPED["org_unit"]))
