"""customer validation (day 2): customers, their answers, customer-flagged post-its;
opportunity owners; the leadership channel

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('workshop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leadership_channel_id', sa.String(length=32),
                                      nullable=True))
    with op.batch_alter_table('post_it', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('corrects_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('owner', sa.String(length=120), nullable=True))
        batch_op.create_foreign_key('fk_post_it_corrects_id', 'post_it', ['corrects_id'],
                                    ['id'], ondelete='SET NULL')
    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('customer_type', sa.String(length=100), nullable=False),
    sa.Column('channel_focus', sa.String(length=32), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('link_nonce', sa.String(length=32), nullable=True),
    sa.Column('link_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('added_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshop.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workshop_id', 'user_id', name='uq_customer_user'),
    sa.UniqueConstraint('workshop_id', 'email', name='uq_customer_email')
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_workshop_id'), ['workshop_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_customer_user_id'), ['user_id'], unique=False)
    op.create_table('customer_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('post_it_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('item', sa.String(length=16), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=True),
    sa.Column('text', sa.String(length=500), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['work_group.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['stage.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_it_id'], ['post_it.id'], ondelete='CASCADE',
                            name='fk_customer_answer_post_it_id'),
    sa.ForeignKeyConstraint(['proposal_id'], ['post_it.id'], ondelete='SET NULL',
                            name='fk_customer_answer_proposal_id'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_id', 'key', name='uq_customer_answer_key')
    )
    with op.batch_alter_table('customer_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_answer_customer_id'), ['customer_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_customer_answer_group_id'), ['group_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('customer_answer')
    op.drop_table('customer')
    with op.batch_alter_table('post_it', schema=None) as batch_op:
        batch_op.drop_constraint('fk_post_it_corrects_id', type_='foreignkey')
        batch_op.drop_column('owner')
        batch_op.drop_column('corrects_id')
        batch_op.drop_column('review')
    with op.batch_alter_table('workshop', schema=None) as batch_op:
        batch_op.drop_column('leadership_channel_id')
