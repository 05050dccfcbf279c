"""The stamp of the tree also stamps the figures: a second token, changed by every write to
a plan, a drive, a quota or a result (and to the tree)

The summary keeps what it made from the tree, the plan and its results keyed by both
tokens: a national plan's figures are made from half a million results and a hundred
thousand units, and a leader opening its dashboard again between two writes gets them
kept. As for the tree, triggers change the token in the writing transaction, whatever
wrote. One row holds both tokens, so every writer of these tables locks that one row
first, in the same order: two writers wait for each other and never deadlock. On
PostgreSQL each transaction writes the row once, and names itself in it.

``unit_tree_stamp`` becomes ``data_stamp``; its token is a cache key, not data: the new
table starts with new tokens, and whatever a process kept is read again.

Revision ID: 9a3c6e1f2b58
Revises: 5e2b8d4a7c91
Create Date: 2026-12-07 06:00:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a3c6e1f2b58'
down_revision = '5e2b8d4a7c91'
branch_labels = None
depends_on = None

TREE = ('org_unit', 'unit_move')
FIGURES = ('plan', 'drive', 'quota', 'result')

# PostgreSQL: a function per kind of write, and a trigger per table fired once per
# statement, before it: the stamp's row is locked before any row of the table. The row is
# written once per transaction, by its first write (``*_writer`` names the transaction):
# an import is a hundred thousand statements, and a row written again and again in one
# transaction grows a chain of versions each write walks. A setting local to the
# transaction (undone with a savepoint rolled back, as the write is) tells the later
# statements at once that there is nothing to do. The app keeps nothing while the stamp's
# writer is its own open transaction (campaign/services/kept.py), so the later writes of
# that transaction need no new token.
PG_TOKEN = "md5(random()::text || clock_timestamp()::text || txid_current()::text)"
PG_FUNCTION = """
CREATE FUNCTION {what}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('campaign.{what}_stamped', true) = 'on' THEN
        RETURN NULL;  -- stamped by an earlier statement of this transaction
    END IF;
    UPDATE data_stamp SET {sets}
    WHERE id = 1 AND {what}_writer IS DISTINCT FROM txid_current();
    IF NOT FOUND THEN  -- written already in this transaction, or no row
        INSERT INTO data_stamp (id, tree, figures, tree_writer, figures_writer)
        VALUES (1, {token}, {token}, txid_current(), txid_current())
        ON CONFLICT (id) DO NOTHING;
    END IF;
    {flags}
    RETURN NULL;
END
$$
"""
PG_SETS = {
    'tree': (
        f'tree = {PG_TOKEN}, figures = {PG_TOKEN},'
        ' tree_writer = txid_current(), figures_writer = txid_current()'
    ),
    'figures': f'figures = {PG_TOKEN}, figures_writer = txid_current()',
}
PG_FLAGS = {
    'tree': (
        "PERFORM set_config('campaign.tree_stamped', 'on', true);"
        " PERFORM set_config('campaign.figures_stamped', 'on', true);"
    ),
    'figures': "PERFORM set_config('campaign.figures_stamped', 'on', true);",
}
PG_TRIGGER = """
CREATE TRIGGER {table}_changes_{what}
BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION {what}_changed()
"""

# SQLite: a trigger per table and kind of write, fired per row (one writer at a time).
SQLITE_TOKEN = "lower(hex(randomblob(16)))"
SQLITE_SETS = {
    'tree': 'tree = excluded.tree, figures = excluded.figures',
    'figures': 'figures = excluded.figures',
}
SQLITE_TRIGGER = """
CREATE TRIGGER {table}_{event}_changes_{what} AFTER {event} ON {table}
BEGIN
    INSERT INTO data_stamp (id, tree, figures) VALUES (1, {token}, {token})
    ON CONFLICT (id) DO UPDATE SET {sets};
END
"""
SQLITE_EVENTS = ('insert', 'update', 'delete')

# The revision before, for the downgrade.
OLD_PG_FUNCTION = """
CREATE FUNCTION unit_tree_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO unit_tree_stamp (id, token)
    VALUES (1, md5(random()::text || clock_timestamp()::text || txid_current()::text))
    ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$
"""
OLD_PG_TRIGGER = """
CREATE TRIGGER {table}_changes_unit_tree
BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION unit_tree_changed()
"""
OLD_SQLITE_TRIGGER = """
CREATE TRIGGER {table}_{event}_changes_unit_tree AFTER {event} ON {table}
BEGIN
    INSERT OR REPLACE INTO unit_tree_stamp (id, token) VALUES (1, lower(hex(randomblob(16))));
END
"""


def _kinds():
    return [('tree', table) for table in TREE] + [('figures', table) for table in FIGURES]


def _on_postgresql():
    return op.get_bind().dialect.name == 'postgresql'


def upgrade():
    _drop_old_triggers()
    op.drop_table('unit_tree_stamp')
    stamp = op.create_table(
        'data_stamp',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('tree', sa.String(length=32), nullable=False),
        sa.Column('figures', sa.String(length=32), nullable=False),
        sa.Column('tree_writer', sa.BigInteger(), nullable=True),
        sa.Column('figures_writer', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_stamp')),
    )
    op.bulk_insert(stamp, [{'id': 1, 'tree': secrets.token_hex(16), 'figures': secrets.token_hex(16)}])
    create_triggers()


def create_triggers():
    """This revision's functions and triggers (a later revision's downgrade comes back to
    them)."""
    if _on_postgresql():
        for what, sets in PG_SETS.items():
            op.execute(
                PG_FUNCTION.format(what=what, sets=sets, token=PG_TOKEN, flags=PG_FLAGS[what])
            )
        for what, table in _kinds():
            op.execute(PG_TRIGGER.format(table=table, what=what))
    else:
        for what, table in _kinds():
            for event in SQLITE_EVENTS:
                op.execute(
                    SQLITE_TRIGGER.format(
                        table=table, event=event, what=what,
                        token=SQLITE_TOKEN, sets=SQLITE_SETS[what],
                    )
                )


def downgrade():
    drop_triggers()
    op.drop_table('data_stamp')
    stamp = op.create_table(
        'unit_tree_stamp',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_tree_stamp')),
    )
    op.bulk_insert(stamp, [{'id': 1, 'token': secrets.token_hex(16)}])
    if _on_postgresql():
        op.execute(OLD_PG_FUNCTION)
        for table in TREE:
            op.execute(OLD_PG_TRIGGER.format(table=table))
    else:
        for table in TREE:
            for event in SQLITE_EVENTS:
                op.execute(OLD_SQLITE_TRIGGER.format(table=table, event=event))


def drop_triggers():
    """What :func:`create_triggers` made."""
    if _on_postgresql():
        for what, table in _kinds():
            op.execute(f'DROP TRIGGER {table}_changes_{what} ON {table}')
        for what in PG_SETS:
            op.execute(f'DROP FUNCTION {what}_changed()')
    else:
        for what, table in _kinds():
            for event in SQLITE_EVENTS:
                op.execute(f'DROP TRIGGER {table}_{event}_changes_{what}')


def _drop_old_triggers():
    if _on_postgresql():
        for table in TREE:
            op.execute(f'DROP TRIGGER {table}_changes_unit_tree ON {table}')
        op.execute('DROP FUNCTION unit_tree_changed()')
    else:
        for table in TREE:
            for event in SQLITE_EVENTS:
                op.execute(f'DROP TRIGGER {table}_{event}_changes_unit_tree')
