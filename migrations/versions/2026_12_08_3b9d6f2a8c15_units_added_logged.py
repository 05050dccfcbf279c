"""A unit added logs its id in the figures' step: the figures kept are brought along it,
not made again

Until now a step that added a unit (a school typed on the unit form, a commune imported)
logged a row of neither a unit nor a plan, and every reader made its figures again: after
a school was added anywhere in the country, the national dashboard took three and a half
seconds. A unit added holds no quota and reported nothing, so no figure changes; only the
trees that hold it do. Now each unit inserted logs, under the step, ``state`` 'unit' with
its id in ``unit_id`` (and no drive), and the step still changes the tree's token: the
trees are read anew, the figures are brought along (``services.summary``).

A unit changed in what the tree is made from, or deleted, a move, or more rows than a step
logs (an import of units): a step no reader follows, as before.

Revision ID: 3b9d6f2a8c15
Revises: 8f2ebbfb45a9
Create Date: 2026-12-08 02:30:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "3b9d6f2a8c15"
down_revision = "8f2ebbfb45a9"
branch_labels = None
depends_on = None

FIGURES_CHANGES = "d41f7b2c8e63"
STAMPED_COLUMNS = "7c5e3a1f9d24"


def _module(revision_id):
    return op.get_context().script.get_revision(revision_id).module


def _on_postgresql():
    return op.get_bind().dialect.name == "postgresql"


# PostgreSQL: ``data_changed`` learns 'units' (an insert into org_unit): the step and the
# tree's token as for 'tree', but no row that stops the readers; the rows are logged by
# ``unit_logged``. A transaction that adds a unit and then changes one still logs that row.
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    what text := TG_ARGV[0];
    of_tree boolean := TG_ARGV[0] IN ('tree', 'units');
    step bigint;
    before text;
    after text := {token};
BEGIN
    IF what IN ('results', 'plans') AND current_setting('campaign.figures_stamped', true) = 'on'
       OR what = 'figures' AND current_setting('campaign.figures_whole', true) = 'on'
       OR what = 'tree' AND current_setting('campaign.figures_whole', true) = 'on'
          AND current_setting('campaign.tree_stamped', true) = 'on'
       OR what = 'units' AND current_setting('campaign.tree_stamped', true) = 'on' THEN
        RETURN NULL;  -- done by an earlier statement of this transaction
    END IF;
    IF current_setting('campaign.figures_stamped', true) IS DISTINCT FROM 'on' THEN
        SELECT figures, figures_seq INTO before, step FROM data_stamp WHERE id = 1 FOR UPDATE;
        IF NOT FOUND THEN  -- no row: one begins, and nothing kept follows from it
            INSERT INTO data_stamp (id, tree, figures, figures_seq, tree_writer, figures_writer)
            VALUES (1, after, after, 1, txid_current(), txid_current())
            ON CONFLICT (id) DO NOTHING;
            PERFORM set_config('campaign.figures_whole', 'on', true);
            step := 1;
        ELSE
            step := step + 1;
            UPDATE data_stamp
            SET figures = after, figures_seq = step, figures_writer = txid_current(),
                tree = CASE WHEN of_tree THEN after ELSE tree END,
                tree_writer = CASE WHEN of_tree THEN txid_current() ELSE tree_writer END
            WHERE id = 1;
            IF of_tree THEN
                PERFORM set_config('campaign.tree_stamped', 'on', true);
            END IF;
            DELETE FROM figures_change WHERE seq <= step - {kept};
        END IF;
        PERFORM set_config('campaign.figures_stamped', 'on', true);
        PERFORM set_config('campaign.figures_step', step::text, true);
        PERFORM set_config('campaign.figures_before', coalesce(before, ''), true);
        PERFORM set_config('campaign.figures_after', after, true);
    END IF;
    IF what IN ('figures', 'tree')
       AND current_setting('campaign.figures_whole', true) IS DISTINCT FROM 'on' THEN
        -- a plan emptied, or a unit changed: this step is not one a reader can follow
        INSERT INTO figures_change (seq)
        VALUES (current_setting('campaign.figures_step')::bigint);
        PERFORM set_config('campaign.figures_whole', 'on', true);
    END IF;
    IF of_tree AND current_setting('campaign.tree_stamped', true) IS DISTINCT FROM 'on' THEN
        -- the step was taken by an earlier write of the figures
        UPDATE data_stamp SET tree = after, tree_writer = txid_current() WHERE id = 1;
        PERFORM set_config('campaign.tree_stamped', 'on', true);
    END IF;
    RETURN NULL;
END
$$
"""
# The row trigger's function: the unit under the step, with ``state`` (a later migration
# logs units renamed the same way).
PG_UNIT_FUNCTION = """
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
{logging}BEGIN
    IF current_setting('campaign.figures_whole', true) = 'on' THEN
        RETURN NULL;
    END IF;
{too_many}    INSERT INTO figures_change (seq, prev, token, state, unit_id)
    VALUES (step, before, after, '{state}', NEW.id);
    PERFORM set_config('campaign.figures_logged', (logged + 1)::text, true);
    RETURN NULL;
END
$$
"""
PG_UNIT_TRIGGER = """
CREATE TRIGGER org_unit_insert_logged
AFTER INSERT ON org_unit FOR EACH ROW
WHEN (current_setting('campaign.figures_whole', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION unit_logged()
"""

# SQLite: the unit's row under the next step, as a result's is logged; then the stamp
# taken to that step, with a new tree token.
SQLITE_UNIT_ROW = """
    INSERT INTO figures_change (seq, prev, token, state, unit_id)
    SELECT figures_seq + 1, figures, {token}, '{state}', NEW.id FROM data_stamp WHERE id = 1;"""


def pg_unit_function(name, state):
    """The function of a row trigger that logs each unit written with ``state``."""
    logging = _module(FIGURES_CHANGES)
    return PG_UNIT_FUNCTION.format(
        name=name, state=state, logging=logging.PG_LOGGING, too_many=logging.PG_TOO_MANY
    )


def _pg_upgrade():
    logging, stamped = _module(FIGURES_CHANGES), _module(STAMPED_COLUMNS)
    op.execute(PG_FUNCTION.format(token=logging.PG_TOKEN, kept=logging.STEPS_KEPT))
    op.execute(pg_unit_function("unit_logged", "unit"))
    op.execute("DROP TRIGGER org_unit_changes_data ON org_unit")
    events = stamped._pg_update_events("org_unit").replace("INSERT OR ", "")
    op.execute(stamped._pg_statement_trigger("org_unit", events))
    op.execute(
        logging.PG_TRIGGER.format(table="org_unit", events="INSERT", what="units").replace(
            "org_unit_changes_data", "org_unit_added_changes_data"
        )
    )
    op.execute(PG_UNIT_TRIGGER)


def _pg_downgrade():
    logging, stamped = _module(FIGURES_CHANGES), _module(STAMPED_COLUMNS)
    op.execute("DROP TRIGGER org_unit_insert_logged ON org_unit")
    op.execute("DROP TRIGGER org_unit_added_changes_data ON org_unit")
    op.execute("DROP FUNCTION unit_logged()")
    op.execute("DROP TRIGGER org_unit_changes_data ON org_unit")
    op.execute(stamped._pg_statement_trigger("org_unit", stamped._pg_update_events("org_unit")))
    op.execute(logging.PG_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))


def sqlite_unit_trigger(event, state):
    """The SQLite trigger named for ``event`` (on the event itself, unless the caller names
    the columns) that logs each unit written with ``state`` under the next step, and takes
    the stamp to that step with a new tree token."""
    logging = _module(FIGURES_CHANGES)
    trigger = logging.SQLITE_LOGGED_STEP.format(
        table="org_unit",
        event=event,
        rows=SQLITE_UNIT_ROW.format(token=logging.SQLITE_TOKEN, state=state),
        token=logging.SQLITE_TOKEN,
        kept=logging.STEPS_KEPT,
    )
    return trigger.replace(
        "SET figures_seq = figures_seq + 1,",
        "SET figures_seq = figures_seq + 1, tree = excluded.tree,",
    )


def _sqlite_previous():
    logging = _module(FIGURES_CHANGES)
    return logging.SQLITE_STEP.format(
        table="org_unit",
        event="insert",
        token=logging.SQLITE_TOKEN,
        sets=logging.SQLITE_SETS["tree"],
    )


def upgrade():
    if _on_postgresql():
        _pg_upgrade()
    else:
        op.execute("DROP TRIGGER org_unit_insert_changes_data")
        op.execute(sqlite_unit_trigger("insert", "unit"))


def downgrade():
    if _on_postgresql():
        _pg_downgrade()
    else:
        op.execute("DROP TRIGGER org_unit_insert_changes_data")
        op.execute(_sqlite_previous())
