"""Each drive has a report deadline; units have a contact e-mail; reminders are kept

Existing drives get the default deadline, three days after their last day. Every change
is an ALTER TABLE in place, never SQLite's batch copy: with foreign keys on, dropping the
old drive table would cascade to the results. So on SQLite the new required column keeps
the placeholder default it was added with (the app always writes the deadline).

Revision ID: c4e1a7d2b9f0
Revises: c3f18e0b7d42
Create Date: 2026-12-06 19:20:00.000000

"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e1a7d2b9f0'
down_revision = 'c3f18e0b7d42'
branch_labels = None
depends_on = None

drive = sa.table(
    'drive', sa.column('id', sa.Integer), sa.column('ends_on', sa.Date),
    sa.column('report_due_on', sa.Date),
)


def _due(ends_on):
    try:
        return ends_on + timedelta(days=3)
    except OverflowError:  # a drive typed in the last days of the year 9999
        return ends_on


def upgrade():
    op.add_column(
        'drive',
        sa.Column('report_due_on', sa.Date(), nullable=False, server_default='1970-01-01'),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(drive.c.id, drive.c.ends_on)).all()
    if rows:
        connection.execute(
            drive.update().where(drive.c.id == sa.bindparam('drive_id')),
            [{'drive_id': id_, 'report_due_on': _due(ends_on)} for id_, ends_on in rows],
        )
    if connection.dialect.name != 'sqlite':
        op.alter_column('drive', 'report_due_on', server_default=None)

    op.add_column('org_unit', sa.Column('contact_email', sa.String(length=254), nullable=True))

    op.create_table('reminder_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('drive_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['drive_id'], ['drive.id'], name=op.f('fk_reminder_sent_drive_id_drive'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_reminder_sent_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_reminder_sent_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_sent')),
    sa.UniqueConstraint('drive_id', 'unit_id', 'sent_on', name='uq_reminder_drive_unit_day')
    )
    op.create_index(op.f('ix_reminder_sent_unit_id'), 'reminder_sent', ['unit_id'], unique=False)


def downgrade():
    # Migrations never drop data: with an e-mail, a reminder or a deadline other than the
    # default stored, the downgrade stops and says so rather than lose it.
    connection = op.get_bind()
    kept = connection.scalar(sa.text(
        "SELECT (SELECT count(*) FROM org_unit WHERE contact_email IS NOT NULL)"
        " + (SELECT count(*) FROM reminder_sent)"
    ))
    rows = connection.execute(sa.select(drive.c.ends_on, drive.c.report_due_on)).all()
    kept += sum(1 for ends_on, due in rows if due != _due(ends_on))
    if kept:
        raise RuntimeError(
            f'{kept} e-mail đơn vị, lần nhắc báo cáo hoặc hạn báo cáo riêng đã được lưu; phiên '
            'bản trước không lưu được các thông tin này, chưa có gì bị thay đổi. / '
            f'{kept} unit e-mails, reminders or report deadlines of their own are stored, which '
            'the previous version cannot keep; nothing was changed.'
        )
    op.drop_index(op.f('ix_reminder_sent_unit_id'), table_name='reminder_sent')
    op.drop_table('reminder_sent')
    op.drop_column('org_unit', 'contact_email')
    op.drop_column('drive', 'report_due_on')
