"""A token that changes with every write to the unit tree, set by database triggers

The summary keeps the unit tree it read, keyed by this token: a national tree is a
hundred thousand units, read and sorted by name on every summary. Triggers, not the app,
change the token, so no write can leave a kept tree stale, whatever makes it (a page, an
import, the CLI, a statement typed by hand). Nothing existing changes.

Revision ID: 5e2b8d4a7c91
Revises: c4e1a7d2b9f0
Create Date: 2026-12-07 03:30:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2b8d4a7c91'
down_revision = 'c4e1a7d2b9f0'
branch_labels = None
depends_on = None

TABLES = ('org_unit', 'unit_move')

# PostgreSQL: one function, and a trigger per table fired once per statement, before it:
# the stamp's row is locked before any unit's, so two transactions writing units wait for
# each other in one order and never deadlock on the stamp.
PG_FUNCTION = """
CREATE FUNCTION unit_tree_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO unit_tree_stamp (id, token)
    VALUES (1, md5(random()::text || clock_timestamp()::text || txid_current()::text))
    ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$
"""
PG_TRIGGER = """
CREATE TRIGGER {table}_changes_unit_tree
BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION unit_tree_changed()
"""

# SQLite: a trigger per table and kind of write, fired per row (one writer at a time).
SQLITE_TRIGGER = """
CREATE TRIGGER {table}_{event}_changes_unit_tree AFTER {event} ON {table}
BEGIN
    INSERT OR REPLACE INTO unit_tree_stamp (id, token) VALUES (1, lower(hex(randomblob(16))));
END
"""
SQLITE_EVENTS = ('insert', 'update', 'delete')


def upgrade():
    stamp = op.create_table(
        'unit_tree_stamp',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_tree_stamp')),
    )
    op.bulk_insert(stamp, [{'id': 1, 'token': secrets.token_hex(16)}])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        for table in TABLES:
            op.execute(PG_TRIGGER.format(table=table))
    else:
        for table in TABLES:
            for event in SQLITE_EVENTS:
                op.execute(SQLITE_TRIGGER.format(table=table, event=event))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f'DROP TRIGGER {table}_changes_unit_tree ON {table}')
        op.execute('DROP FUNCTION unit_tree_changed()')
    else:
        for table in TABLES:
            for event in SQLITE_EVENTS:
                op.execute(f'DROP TRIGGER {table}_{event}_changes_unit_tree')
    op.drop_table('unit_tree_stamp')
