"""A plan written logs its id and its parents' in the figures' step: the figures of a
plan tree it never joined, or joined with no result, are brought along, not made again

Until now a step that wrote a plan logged a row of neither a unit nor a plan, and every
reader made its figures again: each commune plan added anywhere under a national plan
made the national dashboard's figures again (two seconds). Now each plan row written logs,
under the step, ``state`` 'plan' with the plan's id, and ``state`` 'plan_parent' with its
parent (before and after an update; the plan's own id again where it has none), as quotas
and drives log their plan. A reader whose plan tree holds none of these ids goes on; one
whose tree holds them reads its tree's drives again and makes its figures again only if
the plan is its own, or a drive that came or went holds results (``services.summary``).

An update still stamps only when it sets a column the figures are made from (migration
``stamps_for_what_counts``); a table of plans emptied at once is a step no reader follows.

Revision ID: 8f2ebbfb45a9
Revises: 7c5e3a1f9d24
Create Date: 2026-12-07 22:00:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "8f2ebbfb45a9"
down_revision = "7c5e3a1f9d24"
branch_labels = None
depends_on = None

#: What each plan row written logs, before and after: (the state, the plan id logged).
LOGGED = (("plan", "{row}.id"), ("plan_parent", "coalesce({row}.parent_id, {row}.id)"))
ROWS = {"insert": ("NEW",), "update": ("OLD", "NEW"), "delete": ("OLD",)}


def _module(revision_id):
    return op.get_context().script.get_revision(revision_id).module


def _previous():
    """The revision before: its triggers come back with the downgrade."""
    return _module(down_revision)


def _logging():
    """The revision that made the log (``figures_changes``)."""
    return _module(_previous().down_revision)


def _on_postgresql():
    return op.get_bind().dialect.name == "postgresql"


def _columns():
    return ", ".join(_previous().STAMPED["plan"])


def _pg_values(rows):
    values = (f"('{state}', {plan.format(row=row)})" for row in rows for state, plan in LOGGED)
    return ", ".join(values)


def _pg_function():
    logging = _logging()
    return f"""
CREATE FUNCTION plan_row_logged() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
{logging.PG_LOGGING}    written record;
BEGIN
    IF current_setting('campaign.figures_whole', true) = 'on' THEN
        RETURN NULL;
    END IF;
    FOR written IN
        SELECT DISTINCT logged.state, logged.plan_id FROM (
            SELECT * FROM (VALUES {_pg_values(("OLD",))}) AS old_rows (state, plan_id)
            WHERE TG_OP <> 'INSERT'
            UNION ALL
            SELECT * FROM (VALUES {_pg_values(("NEW",))}) AS new_rows (state, plan_id)
            WHERE TG_OP <> 'DELETE'
        ) AS logged
        ORDER BY logged.state, logged.plan_id
    LOOP
{logging.PG_TOO_MANY}        INSERT INTO figures_change (seq, prev, token, state, plan_id)
        VALUES (step, before, after, written.state, written.plan_id);
        logged := logged + 1;
    END LOOP;
    PERFORM set_config('campaign.figures_logged', logged::text, true);
    RETURN NULL;
END
$$
"""


def _pg_upgrade():
    logging = _logging()
    op.execute("DROP TRIGGER plan_changes_data ON plan")
    op.execute(
        logging.PG_TRIGGER.format(
            table="plan", events=f"INSERT OR UPDATE OF {_columns()} OR DELETE", what="plans"
        )
    )
    op.execute(
        "CREATE TRIGGER plan_emptied_changes_data BEFORE TRUNCATE ON plan"
        " FOR EACH STATEMENT EXECUTE FUNCTION data_changed('figures')"
    )
    op.execute(_pg_function())
    for event in ROWS:
        on = f"UPDATE OF {_columns()}" if event == "update" else event.upper()
        op.execute(
            f"CREATE TRIGGER plan_{event}_row_logged AFTER {on} ON plan FOR EACH ROW"
            " WHEN (current_setting('campaign.figures_whole', true) IS DISTINCT FROM 'on')"
            " EXECUTE FUNCTION plan_row_logged()"
        )


def _pg_downgrade():
    for event in ROWS:
        op.execute(f"DROP TRIGGER plan_{event}_row_logged ON plan")
    op.execute("DROP FUNCTION plan_row_logged()")
    op.execute("DROP TRIGGER plan_emptied_changes_data ON plan")
    op.execute("DROP TRIGGER plan_changes_data ON plan")
    previous = _previous()
    op.execute(previous._pg_statement_trigger("plan", previous._pg_update_events("plan")))


def _sqlite_trigger(event):
    """As ``figures_changes`` logs a quota's or a drive's plan: the first row under the
    next step, each further row under the step and tokens of the row before it; then the
    stamp taken to that step."""
    logging = _logging()
    rows = []
    for row in ROWS[event]:
        for state, plan in LOGGED:
            logged = f"'{state}', {plan.format(row=row)}"
            if rows:
                step, source = "seq", "figures_change WHERE id = last_insert_rowid()"
                values = f"prev, token, {logged}"
            else:
                step, source = "figures_seq + 1", "data_stamp WHERE id = 1"
                values = f"figures, {logging.SQLITE_TOKEN}, {logged}"
            rows.append(
                logging.SQLITE_LOG_ROW.format(
                    logged="state, plan_id", step=step, values=values, source=source
                )
            )
    trigger = logging.SQLITE_LOGGED_STEP.format(
        table="plan",
        event=event,
        rows="".join(rows),
        token=logging.SQLITE_TOKEN,
        kept=logging.STEPS_KEPT,
    )
    if event == "update":
        trigger = trigger.replace("AFTER update ON plan", f"AFTER UPDATE OF {_columns()} ON plan")
    return trigger


def _sqlite_replace(trigger):
    for event in ROWS:
        op.execute(f"DROP TRIGGER plan_{event}_changes_data")
        op.execute(trigger(event))


def _sqlite_previous(event):
    if event == "update":
        return _previous()._sqlite_update_trigger("plan", _previous().STAMPED["plan"])
    logging = _logging()
    return logging.SQLITE_STEP.format(
        table="plan", event=event, token=logging.SQLITE_TOKEN, sets=logging.SQLITE_SETS["figures"]
    )


def upgrade():
    if _on_postgresql():
        _pg_upgrade()
    else:
        _sqlite_replace(_sqlite_trigger)


def downgrade():
    if _on_postgresql():
        _pg_downgrade()
    else:
        _sqlite_replace(_sqlite_previous)
