"""timer incidents: cases whose timers failed MAX_ATTEMPTS times, for the admin page

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import service.models.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('timer_incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('element_ids', sa.String(length=1000), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('opened_at', service.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', service.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=30), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_timer_incidents_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_timer_incidents_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timer_incidents'))
    )
    with op.batch_alter_table('timer_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timer_incidents_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_timer_incidents_opened_at'), ['opened_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timer_incidents_resolved_at'), ['resolved_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('timer_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timer_incidents_resolved_at'))
        batch_op.drop_index(batch_op.f('ix_timer_incidents_opened_at'))
        batch_op.drop_index(batch_op.f('ix_timer_incidents_case_id'))
    op.drop_table('timer_incidents')
