"""The stamp of the tree also stamps the figures: a second token, changed by every write to
a plan, a drive, a quota or a result (and to the tree)

The summary keeps what it made from the tree, the plan and its results keyed by both
tokens: a national plan's figures are made from half a million results and a hundred
thousand units, and a leader opening its dashboard again between two writes gets them
kept. As for the tree, triggers change the token in the writing transaction, whatever
wrote. One row holds both tokens, so every writer of these tables locks that one row
first, in the same order: two writers wait for each other and never deadlock.

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
# statement, before it: the stamp's row is locked before any row of the table.
PG_TOKEN = "md5(random()::text || clock_timestamp()::text || txid_current()::text)"
PG_FUNCTIONS = {
    'tree_changed': f"""
CREATE FUNCTION tree_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO data_stamp (id, tree, figures) VALUES (1, {PG_TOKEN}, {PG_TOKEN})
    ON CONFLICT (id) DO UPDATE SET tree = EXCLUDED.tree, figures = EXCLUDED.figures;
    RETURN NULL;
END
$$
""",
    'figures_changed': f"""
CREATE FUNCTION figures_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO data_stamp (id, tree, figures) VALUES (1, {PG_TOKEN}, {PG_TOKEN})
    ON CONFLICT (id) DO UPDATE SET figures = EXCLUDED.figures;
    RETURN NULL;
END
$$
""",
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
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_stamp')),
    )
    op.bulk_insert(stamp, [{'id': 1, 'tree': secrets.token_hex(16), 'figures': secrets.token_hex(16)}])
    if _on_postgresql():
        for function in PG_FUNCTIONS.values():
            op.execute(function)
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
    if _on_postgresql():
        for what, table in _kinds():
            op.execute(f'DROP TRIGGER {table}_changes_{what} ON {table}')
        for name in PG_FUNCTIONS:
            op.execute(f'DROP FUNCTION {name}()')
    else:
        for what, table in _kinds():
            for event in SQLITE_EVENTS:
                op.execute(f'DROP TRIGGER {table}_{event}_changes_{what}')
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


def _drop_old_triggers():
    if _on_postgresql():
        for table in TREE:
            op.execute(f'DROP TRIGGER {table}_changes_unit_tree ON {table}')
        op.execute('DROP FUNCTION unit_tree_changed()')
    else:
        for table in TREE:
            for event in SQLITE_EVENTS:
                op.execute(f'DROP TRIGGER {table}_{event}_changes_unit_tree')
