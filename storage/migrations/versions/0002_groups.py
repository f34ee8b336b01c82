"""groups

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('grouping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=32), nullable=True),
    sa.Column('announced_ts', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshop.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workshop_id')
    )
    op.create_table('work_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('customer_type', sa.String(length=100), nullable=True),
    sa.Column('channel_focus', sa.String(length=32), nullable=True),
    sa.Column('channel_name', sa.String(length=80), nullable=True),
    sa.Column('channel_id', sa.String(length=32), nullable=True),
    sa.Column('welcomed_ts', sa.String(length=32), nullable=True),
    sa.Column('invited', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshop.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workshop_id', 'number', name='uq_group_number')
    )
    with op.batch_alter_table('work_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_group_workshop_id'), ['workshop_id'], unique=False)

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_person_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key('fk_person_group_id', 'work_group', ['group_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint('fk_person_group_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_person_group_id'))
        batch_op.drop_column('group_id')

    with op.batch_alter_table('work_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_group_workshop_id'))

    op.drop_table('work_group')
    op.drop_table('grouping')
