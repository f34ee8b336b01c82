"""schedule: workshop runs, phase transitions (exactly once), the scheduler lease

The APScheduler job table (`apscheduler_jobs`) is not Alembic's: the job store creates it
(see bot/scheduling.py and migrations/env.py).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scheduler_lease',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('phase_transition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('phase', sa.String(length=32), nullable=False),
    sa.Column('moment', sa.String(length=16), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.Column('by', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshop.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workshop_id', 'key', name='uq_phase_transition_key')
    )
    with op.batch_alter_table('phase_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phase_transition_workshop_id'), ['workshop_id'], unique=False)

    op.create_table('workshop_schedule',
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=32), nullable=False),
    sa.Column('run', sa.JSON(), nullable=False),
    sa.Column('message', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshop.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workshop_id')
    )


def downgrade() -> None:
    op.drop_table('workshop_schedule')
    with op.batch_alter_table('phase_transition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phase_transition_workshop_id'))

    op.drop_table('phase_transition')
    op.drop_table('scheduler_lease')
