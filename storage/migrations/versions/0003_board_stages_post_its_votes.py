"""board: stages, post-its, votes

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=80), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['work_group.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_group_id'), ['group_id'], unique=False)

    op.create_table('post_it',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Double(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('request_key', sa.String(length=120), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['work_group.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['stage.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('group_id', 'request_key', name='uq_post_it_request')
    )
    with op.batch_alter_table('post_it', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_it_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_post_it_stage_id'), ['stage_id'], unique=False)

    op.create_table('vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('post_it_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['post_it_id'], ['post_it.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshop.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('post_it_id', 'user_id', name='uq_vote_user')
    )
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vote_post_it_id'), ['post_it_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vote_workshop_id'), ['workshop_id'], unique=False)

    with op.batch_alter_table('work_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('board_ts', sa.String(length=32), nullable=True))

    with op.batch_alter_table('workshop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vote_budget', sa.Integer(), server_default='3', nullable=False))
        batch_op.add_column(sa.Column('vote_stacking', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('workshop', schema=None) as batch_op:
        batch_op.drop_column('anonymous')
        batch_op.drop_column('vote_stacking')
        batch_op.drop_column('vote_budget')

    with op.batch_alter_table('work_group', schema=None) as batch_op:
        batch_op.drop_column('board_ts')

    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vote_workshop_id'))
        batch_op.drop_index(batch_op.f('ix_vote_post_it_id'))

    op.drop_table('vote')
    with op.batch_alter_table('post_it', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_it_stage_id'))
        batch_op.drop_index(batch_op.f('ix_post_it_group_id'))

    op.drop_table('post_it')
    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_group_id'))

    op.drop_table('stage')
