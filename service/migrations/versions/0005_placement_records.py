"""placement records: school decisions on absences, attendance alerts, progress reports,
provider census setting type

Revision ID: 0005
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import service.models.base

revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attendance_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attendance_record_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', service.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attendance_record_id'], ['attendance_records.id'], name=op.f('fk_attendance_decisions_attendance_record_id_attendance_records')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attendance_decisions_case_id_cases')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_attendance_decisions_decided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_decisions'))
    )
    with op.batch_alter_table('attendance_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_decisions_attendance_record_id'), ['attendance_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendance_decisions_case_id'), ['case_id'], unique=False)

    op.create_table('attendance_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('run_start', sa.Date(), nullable=False),
    sa.Column('run_end', sa.Date(), nullable=False),
    sa.Column('school_days', sa.Integer(), nullable=False),
    sa.Column('created_at', service.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attendance_alerts_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_alerts')),
    sa.UniqueConstraint('case_id', 'kind', 'run_start', name='uq_attendance_alerts_case_kind_run')
    )
    with op.batch_alter_table('attendance_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_alerts_case_id'), ['case_id'], unique=False)

    op.create_table('progress_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=100), nullable=False),
    sa.Column('report_date', sa.Date(), nullable=False),
    sa.Column('progress', sa.Text(), nullable=False),
    sa.Column('behaviour', sa.Text(), nullable=False),
    sa.Column('pupil_voice', sa.Text(), nullable=False),
    sa.Column('next_steps', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', service.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_progress_reports_case_id_cases')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_progress_reports_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_reports'))
    )
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_reports_case_id'), ['case_id'], unique=False)

    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('setting_type', sa.String(length=3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_column('setting_type')
    for table, indexes in (('progress_reports', ['case_id']), ('attendance_alerts', ['case_id']),
                           ('attendance_decisions', ['attendance_record_id', 'case_id'])):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in indexes:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
        op.drop_table(table)
