"""A plan's progress may be published at an address of its own

The address carries a random slug, not the plan's id; it is empty while the plan
is not published, and unique.

Revision ID: a290bc38d972
Revises: 7b3e9c1d5a20
Create Date: 2026-12-06 16:40:31.676690

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a290bc38d972'
down_revision = '7b3e9c1d5a20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_slug', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_plan_public_slug'), ['public_slug'])


def downgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_plan_public_slug'), type_='unique')
        batch_op.drop_column('public_slug')
