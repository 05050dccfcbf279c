"""Targets beyond blood units: a plan's least shares, a quota holder's headcount, and a
result's repeat donors. Every new column is optional: existing rows keep their meaning.

Revision ID: 41d5f47fa984
Revises: 4f7c2a9e1b3d
Create Date: 2026-12-06 16:38:57.032405

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '41d5f47fa984'
down_revision = '4f7c2a9e1b3d'
branch_labels = None
depends_on = None

TARGETS = ('min_large_bag_percent', 'min_repeat_percent', 'min_participation_percent')


def upgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        for column in TARGETS:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
            batch_op.create_check_constraint(
                f'{column}_a_percent', f'{column} IS NULL OR ({column} >= 1 AND {column} <= 100)'
            )

    with op.batch_alter_table('quota', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headcount', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('headcount_not_negative', 'headcount >= 0')

    with op.batch_alter_table('result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeat_donors', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('repeat_donors_not_negative', 'repeat_donors >= 0')


def downgrade():
    with op.batch_alter_table('result', schema=None) as batch_op:
        batch_op.drop_constraint('repeat_donors_not_negative', type_='check')
        batch_op.drop_column('repeat_donors')

    with op.batch_alter_table('quota', schema=None) as batch_op:
        batch_op.drop_constraint('headcount_not_negative', type_='check')
        batch_op.drop_column('headcount')

    with op.batch_alter_table('plan', schema=None) as batch_op:
        for column in reversed(TARGETS):
            batch_op.drop_constraint(f'{column}_a_percent', type_='check')
            batch_op.drop_column(column)
