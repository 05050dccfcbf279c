"""Unit codes are unique whatever their case: "qx-binh" and "QX-BINH" are one code

Codes stay as they were typed; a unique index on lower(code) refuses a second
spelling. A database that already holds such codes is not changed: the upgrade
stops and names them, for someone who knows the units to rename one of each.

Revision ID: 4f7c2a9e1b3d
Revises: 01258ab480b2
Create Date: 2026-12-06 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4f7c2a9e1b3d'
down_revision = '01258ab480b2'
branch_labels = None
depends_on = None


class CaseClash(RuntimeError):
    """flask db upgrade and init-db print a RuntimeError's message and exit with 1."""


def clashing_codes(connection):
    """Groups of codes equal except for case, each group sorted, as the database compares."""
    key = sa.func.lower(sa.column('code'))
    org_unit = sa.table('org_unit', sa.column('code'))
    keys = sa.select(key).select_from(org_unit).group_by(key).having(sa.func.count() > 1)
    rows = connection.execute(sa.select(key, org_unit.c.code).where(key.in_(keys)))
    groups = {}
    for lowered, code in rows:
        groups.setdefault(lowered, []).append(code)
    return sorted(sorted(group) for group in groups.values())


def upgrade():
    clashes = clashing_codes(op.get_bind())
    if clashes:
        listed = '; '.join(' = '.join(group) for group in clashes)
        raise CaseClash(
            'Mã đơn vị phải khác nhau không kể chữ hoa, chữ thường, nhưng các mã sau chỉ khác '
            f'nhau ở chữ hoa, chữ thường: {listed}. Hãy đổi mã của các đơn vị này (trang sửa '
            'đơn vị) rồi chạy lại; chưa có gì bị thay đổi. / Unit codes must be unique whatever '
            f'their case, and these differ only in case: {listed}. Rename all but one of each, '
            'then upgrade again; nothing was changed.'
        )
    op.create_index(
        'uq_org_unit_code_lower', 'org_unit', [sa.text('lower(code)')], unique=True
    )


def downgrade():
    op.drop_index('uq_org_unit_code_lower', table_name='org_unit')
