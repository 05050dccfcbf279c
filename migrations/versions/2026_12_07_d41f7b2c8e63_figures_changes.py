"""The figures' stamp counts its steps, and each step that only wrote results logs them:
a summary kept from a step before can be brought up to date instead of made again

Each write of the figures now takes one step: ``data_stamp.figures_seq`` counts them, and
``figures`` is the token after the step. A step (one transaction on PostgreSQL, one row on
SQLite) logs in ``figures_change``, with the tokens before and after it, each result row it
wrote, before and after, and the plan of each quota or drive it wrote (with the table's name
in ``state``). A step that wrote a
plan or a unit, or too many rows, logs a row of neither (or, on SQLite, nothing): a reader
must make its figures again. A reader holding figures made at step S with token T reads
the steps after S: if they follow each other from T, it adds up the results that changed
(``services.summary``) unless a quota or drive of its plan changed; a national plan's
dashboard after one result saved is brought up to date instead of made again, and a quota
written in one district's plan leaves the national plan's figures kept.

The log keeps the last steps only; its rows are a cache's, not data, and go with a
downgrade.

Revision ID: d41f7b2c8e63
Revises: 9a3c6e1f2b58
Create Date: 2026-12-07 09:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d41f7b2c8e63"
down_revision = "9a3c6e1f2b58"
branch_labels = None
depends_on = None

#: Steps the log keeps: a reader further behind makes its figures again.
STEPS_KEPT = 200
#: Result rows one step (a transaction on PostgreSQL) logs at most: an import of results
#: logs none, and readers make their figures again.
ROWS_LOGGED = 500

TREE = ("org_unit", "unit_move")
FIGURES = ("plan",)
#: Tables whose rows log their plan: a write to one plan's quotas or drives leaves the
#: figures of the others as they were.
PLANNED = ("drive", "quota")
RESULT_COLUMNS = (
    "unit_id",
    "drive_id",
    "state",
    "registered",
    "deferred",
    "bags_250",
    "bags_350",
    "bags_450",
    "repeat_donors",
)
LOGGED = ", ".join(RESULT_COLUMNS)

PG_TOKEN = "md5(random()::text || clock_timestamp()::text || txid_current()::text)"
# One function for every stamped table, told by the trigger's argument what was written:
# 'tree' (org_unit, unit_move: both tokens), 'figures' (plan, and a table of results,
# drives or quotas emptied at once), 'results' or 'plans' (result, drive and quota rows,
# logged one by one by the row triggers below). A transaction takes one step, at its first write; settings local to it (undone
# by a savepoint rolled back, as the writes are) tell later statements what is done.
PG_FUNCTION = f"""
CREATE FUNCTION data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    what text := TG_ARGV[0];
    step bigint;
    before text;
    after text := {PG_TOKEN};
BEGIN
    IF what IN ('results', 'plans') AND current_setting('campaign.figures_stamped', true) = 'on'
       OR what = 'figures' AND current_setting('campaign.figures_whole', true) = 'on'
       OR what = 'tree' AND current_setting('campaign.tree_stamped', true) = 'on' THEN
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
                tree = CASE WHEN what = 'tree' THEN after ELSE tree END,
                tree_writer = CASE WHEN what = 'tree' THEN txid_current() ELSE tree_writer END
            WHERE id = 1;
            IF what = 'tree' THEN
                PERFORM set_config('campaign.tree_stamped', 'on', true);
            END IF;
            DELETE FROM figures_change WHERE seq <= step - {STEPS_KEPT};
        END IF;
        PERFORM set_config('campaign.figures_stamped', 'on', true);
        PERFORM set_config('campaign.figures_step', step::text, true);
        PERFORM set_config('campaign.figures_before', coalesce(before, ''), true);
        PERFORM set_config('campaign.figures_after', after, true);
    END IF;
    IF what IN ('figures', 'tree')
       AND current_setting('campaign.figures_whole', true) IS DISTINCT FROM 'on' THEN
        -- a plan or a unit: this step is not one a reader can follow
        INSERT INTO figures_change (seq)
        VALUES (current_setting('campaign.figures_step')::bigint);
        PERFORM set_config('campaign.figures_whole', 'on', true);
    END IF;
    IF what = 'tree' AND current_setting('campaign.tree_stamped', true) IS DISTINCT FROM 'on' THEN
        -- the step was taken by an earlier write of the figures
        UPDATE data_stamp SET tree = after, tree_writer = txid_current() WHERE id = 1;
        PERFORM set_config('campaign.tree_stamped', 'on', true);
    END IF;
    RETURN NULL;
END
$$
"""
# What the row triggers below share: the rows logged so far in this transaction, and its
# step (set by data_changed); and, past the rows a step logs, a row that says so.
PG_LOGGING = """\
    logged integer := coalesce(nullif(current_setting('campaign.figures_logged', true), ''), '0')::integer;
    step bigint := current_setting('campaign.figures_step')::bigint;
    before text := current_setting('campaign.figures_before');
    after text := current_setting('campaign.figures_after');
"""
PG_TOO_MANY = f"""\
    IF logged >= {ROWS_LOGGED} THEN  -- an import: readers make their figures again
        INSERT INTO figures_change (seq) VALUES (step);
        PERFORM set_config('campaign.figures_whole', 'on', true);
        RETURN NULL;
    END IF;
"""
PG_LOG_FUNCTION = f"""
CREATE FUNCTION result_logged() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
{PG_LOGGING}BEGIN
    IF current_setting('campaign.figures_whole', true) = 'on' THEN
        RETURN NULL;
    END IF;
{PG_TOO_MANY}    IF TG_OP <> 'INSERT' THEN
        INSERT INTO figures_change (seq, prev, token, sign, {LOGGED})
        VALUES (step, before, after, -1, {", ".join("OLD." + c for c in RESULT_COLUMNS)});
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO figures_change (seq, prev, token, sign, {LOGGED})
        VALUES (step, before, after, 1, {", ".join("NEW." + c for c in RESULT_COLUMNS)});
    END IF;
    PERFORM set_config('campaign.figures_logged', (logged + 1)::text, true);
    RETURN NULL;
END
$$
"""
# Quotas and drives: the plan of each row written, logged once while the rows written one
# after another are of one table and plan (a quota import logs one row).
PG_PLAN_FUNCTION = f"""
CREATE FUNCTION plan_logged() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
{PG_LOGGING}    plans integer[];
    pid integer;
BEGIN
    IF current_setting('campaign.figures_whole', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        plans := ARRAY[NEW.plan_id];
    ELSIF TG_OP = 'DELETE' THEN
        plans := ARRAY[OLD.plan_id];
    ELSE
        plans := ARRAY[OLD.plan_id, NEW.plan_id];
    END IF;
    FOREACH pid IN ARRAY plans LOOP
        IF TG_TABLE_NAME || ':' || pid IS DISTINCT FROM current_setting('campaign.figures_plan', true) THEN
{PG_TOO_MANY}            INSERT INTO figures_change (seq, prev, token, state, plan_id)
            VALUES (step, before, after, TG_TABLE_NAME, pid);
            PERFORM set_config('campaign.figures_plan', TG_TABLE_NAME || ':' || pid, true);
            logged := logged + 1;
        END IF;
    END LOOP;
    PERFORM set_config('campaign.figures_logged', logged::text, true);
    RETURN NULL;
END
$$
"""
PG_PLAN_TRIGGER = """
CREATE TRIGGER {table}_{event}_plan_logged
AFTER {event} ON {table} FOR EACH ROW
WHEN (current_setting('campaign.figures_whole', true) IS DISTINCT FROM 'on' AND ({rows}))
EXECUTE FUNCTION plan_logged()
"""
PG_PLAN_ROW = (
    "current_setting('campaign.figures_plan', true) IS DISTINCT FROM '{table}:' || {row}.plan_id"
)
PG_PLAN_ROWS = {"insert": ("NEW",), "update": ("OLD", "NEW"), "delete": ("OLD",)}
PG_TRIGGER = """
CREATE TRIGGER {table}_changes_data
BEFORE {events} ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION data_changed('{what}')
"""
PG_LOG_TRIGGER = """
CREATE TRIGGER result_changes_logged
AFTER INSERT OR UPDATE OR DELETE ON result FOR EACH ROW
WHEN (current_setting('campaign.figures_whole', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION result_logged()
"""
ALL_EVENTS = "INSERT OR UPDATE OR DELETE OR TRUNCATE"
ROW_EVENTS = "INSERT OR UPDATE OR DELETE"

# SQLite: triggers per row (one writer at a time), each row a step of its own.
SQLITE_TOKEN = "lower(hex(randomblob(16)))"
SQLITE_STEP = """
CREATE TRIGGER {table}_{event}_changes_data AFTER {event} ON {table}
BEGIN
    INSERT INTO data_stamp (id, tree, figures, figures_seq) VALUES (1, {token}, {token}, 1)
    ON CONFLICT (id) DO UPDATE SET {sets}, figures_seq = figures_seq + 1;
END
"""
SQLITE_SETS = {
    "tree": "tree = excluded.tree, figures = excluded.figures",
    "figures": "figures = excluded.figures",
}
SQLITE_LOG_ROW = """
    INSERT INTO figures_change (seq, prev, token, {logged})
    SELECT {step}, {values} FROM {source};"""
SQLITE_LOGGED_STEP = """
CREATE TRIGGER {table}_{event}_changes_data AFTER {event} ON {table}
BEGIN{rows}
    INSERT INTO data_stamp (id, tree, figures, figures_seq) VALUES (1, {token}, {token}, 1)
    ON CONFLICT (id) DO UPDATE SET figures_seq = figures_seq + 1, figures = coalesce(
        (SELECT token FROM figures_change WHERE seq = data_stamp.figures_seq + 1
         ORDER BY id DESC LIMIT 1),
        excluded.figures);
    DELETE FROM figures_change
    WHERE seq <= (SELECT figures_seq FROM data_stamp WHERE id = 1) - {kept};
END
"""
SQLITE_EVENTS = ("insert", "update", "delete")


def _sqlite_logged_step(table, event):
    """The trigger of one kind of write to ``result`` (its rows logged, the row before with
    -1, the row after with +1) or to a quota or a drive (its plan logged, before and
    after) under the next step; then the stamp taken to that step."""
    if table == "result":
        logged = f"sign, {LOGGED}"
        columns = [("-1", "OLD", RESULT_COLUMNS), ("1", "NEW", RESULT_COLUMNS)]
    else:  # the table's name in ``state``, and its plan
        logged = "state, plan_id"
        columns = [(f"'{table}'", "OLD", ("plan_id",)), (f"'{table}'", "NEW", ("plan_id",))]
    rows = []
    for sign, row, names in columns:
        if (event, row) in (("insert", "OLD"), ("delete", "NEW")):
            continue
        values = ", ".join(([sign] if sign else []) + [f"{row}.{c}" for c in names])
        if rows:  # the second row of an update: the step and tokens of the first
            step, source = "seq", "figures_change WHERE id = last_insert_rowid()"
            values = f"prev, token, {values}"
        else:
            step, source = "figures_seq + 1", "data_stamp WHERE id = 1"
            values = f"figures, {SQLITE_TOKEN}, {values}"
        rows.append(SQLITE_LOG_ROW.format(logged=logged, step=step, values=values, source=source))
    return SQLITE_LOGGED_STEP.format(
        table=table, event=event, rows="".join(rows), token=SQLITE_TOKEN, kept=STEPS_KEPT
    )


def _on_postgresql():
    return op.get_bind().dialect.name == "postgresql"


def _previous():
    """The revision before: its triggers come back with the downgrade."""
    return op.get_context().script.get_revision(down_revision).module


def upgrade():
    _previous().drop_triggers()
    op.add_column(
        "data_stamp",
        sa.Column("figures_seq", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "figures_change",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev", sa.String(length=32), nullable=True),
        sa.Column("token", sa.String(length=32), nullable=True),
        sa.Column("sign", sa.SmallInteger(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("drive_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("registered", sa.Integer(), nullable=True),
        sa.Column("deferred", sa.Integer(), nullable=True),
        sa.Column("bags_250", sa.Integer(), nullable=True),
        sa.Column("bags_350", sa.Integer(), nullable=True),
        sa.Column("bags_450", sa.Integer(), nullable=True),
        sa.Column("repeat_donors", sa.Integer(), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figures_change")),
    )
    op.create_index(op.f("ix_figures_change_seq"), "figures_change", ["seq"])
    if _on_postgresql():
        op.execute(PG_FUNCTION)
        op.execute(PG_LOG_FUNCTION)
        op.execute(PG_PLAN_FUNCTION)
        for table in TREE:
            op.execute(PG_TRIGGER.format(table=table, events=ALL_EVENTS, what="tree"))
        for table in FIGURES:
            op.execute(PG_TRIGGER.format(table=table, events=ALL_EVENTS, what="figures"))
        for table, what in (("result", "results"), *((table, "plans") for table in PLANNED)):
            op.execute(PG_TRIGGER.format(table=table, events=ROW_EVENTS, what=what))
            op.execute(
                f"CREATE TRIGGER {table}_emptied_changes_data BEFORE TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION data_changed('figures')"
            )
        op.execute(PG_LOG_TRIGGER)
        for table in PLANNED:
            for event, rows in PG_PLAN_ROWS.items():
                condition = " OR ".join(PG_PLAN_ROW.format(table=table, row=row) for row in rows)
                op.execute(PG_PLAN_TRIGGER.format(table=table, event=event, rows=condition))
    else:
        for what, tables in (("tree", TREE), ("figures", FIGURES)):
            for table in tables:
                for event in SQLITE_EVENTS:
                    op.execute(
                        SQLITE_STEP.format(
                            table=table, event=event, token=SQLITE_TOKEN, sets=SQLITE_SETS[what]
                        )
                    )
        for table in ("result", *PLANNED):
            for event in SQLITE_EVENTS:
                op.execute(_sqlite_logged_step(table, event))


def downgrade():
    if _on_postgresql():
        for table in (*TREE, *FIGURES, *PLANNED, "result"):
            op.execute(f"DROP TRIGGER {table}_changes_data ON {table}")
        for table in (*PLANNED, "result"):
            op.execute(f"DROP TRIGGER {table}_emptied_changes_data ON {table}")
        for table in PLANNED:
            for event in PG_PLAN_ROWS:
                op.execute(f"DROP TRIGGER {table}_{event}_plan_logged ON {table}")
        op.execute("DROP TRIGGER result_changes_logged ON result")
        op.execute("DROP FUNCTION plan_logged()")
        op.execute("DROP FUNCTION result_logged()")
        op.execute("DROP FUNCTION data_changed()")
    else:
        for table in (*TREE, *FIGURES, *PLANNED, "result"):
            for event in SQLITE_EVENTS:
                op.execute(f"DROP TRIGGER {table}_{event}_changes_data")
    op.drop_index(op.f("ix_figures_change_seq"), table_name="figures_change")
    op.drop_table("figures_change")
    with op.batch_alter_table("data_stamp") as batch:
        batch.drop_column("figures_seq")
    _previous().create_triggers()
