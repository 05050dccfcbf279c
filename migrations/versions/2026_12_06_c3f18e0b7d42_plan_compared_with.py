"""A plan may name the earlier plan its figures are compared with

Each existing plan is compared, as a new one is by default, with the same issuer's
plan of the year before when there is one (the last issued, a draft only when there is
nothing else). A plan deleted later leaves the plans compared with it naming none.

Revision ID: c3f18e0b7d42
Revises: a290bc38d972
Create Date: 2026-12-06 19:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3f18e0b7d42'
down_revision = 'a290bc38d972'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compare_with_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_plan_compare_with_id'), ['compare_with_id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_plan_compare_with_id_plan'),
            'plan',
            ['compare_with_id'],
            ['id'],
            ondelete='SET NULL',
        )
    op.execute(
        """
        UPDATE plan SET compare_with_id = (
            SELECT earlier.id FROM plan AS earlier
            WHERE earlier.issuer_id = plan.issuer_id AND earlier.year = plan.year - 1
            ORDER BY CASE WHEN earlier.status = 'draft' THEN 1 ELSE 0 END,
                earlier.issued_on DESC, earlier.id DESC
            LIMIT 1
        )
        """
    )


def downgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_plan_compare_with_id_plan'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_plan_compare_with_id'))
        batch_op.drop_column('compare_with_id')
