"""Units get the statistics office's code; the kind "special_zone" (đặc khu) is allowed

official_code is optional and indexed, not unique: codes are reused across the 2025
reform, so the units service refuses only two units valid on a same day with one code.
Existing rows keep everything they had; the kind check only gains a value.

Revision ID: 7b3e9c1d5a20
Revises: 41d5f47fa984
Create Date: 2026-12-06 16:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b3e9c1d5a20'
down_revision = '41d5f47fa984'
branch_labels = None
depends_on = None

KINDS = ['province', 'district', 'commune', 'ward', 'town', 'agency', 'school', 'enterprise',
         'armed_forces', 'union', 'other']


def kind_check(kinds):
    return 'kind IN ({})'.format(', '.join(f"'{kind}'" for kind in kinds))


def case_index(create):
    """SQLite's batch mode copies the table and would lose the expression index on
    lower(code), which its reflection cannot see: it is dropped first and made again."""
    if create:
        op.create_index(
            'uq_org_unit_code_lower', 'org_unit', [sa.text('lower(code)')], unique=True
        )
    else:
        op.drop_index('uq_org_unit_code_lower', table_name='org_unit')


def upgrade():
    case_index(create=False)
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('official_code', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_org_unit_official_code'), ['official_code'], unique=False)
        batch_op.drop_constraint(batch_op.f('ck_org_unit_kind_known'), type_='check')
        batch_op.create_check_constraint(
            'kind_known', kind_check(KINDS[:4] + ['special_zone'] + KINDS[4:])
        )
    case_index(create=True)


def downgrade():
    # Migrations never drop data: with a special zone or an official code stored, the
    # downgrade stops and says so rather than lose it.
    connection = op.get_bind()
    kept = connection.scalar(sa.text(
        "SELECT count(*) FROM org_unit WHERE kind = 'special_zone' OR official_code IS NOT NULL"
    ))
    if kept:
        raise RuntimeError(
            f'{kept} đơn vị là đặc khu hoặc có mã đơn vị hành chính; phiên bản trước không lưu '
            'được các thông tin này, chưa có gì bị thay đổi. / '
            f'{kept} units are special zones or have an official code, which the previous '
            'version cannot store; nothing was changed.'
        )
    case_index(create=False)
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_org_unit_kind_known'), type_='check')
        batch_op.create_check_constraint('kind_known', kind_check(KINDS))
        batch_op.drop_index(batch_op.f('ix_org_unit_official_code'))
        batch_op.drop_column('official_code')
    case_index(create=True)
