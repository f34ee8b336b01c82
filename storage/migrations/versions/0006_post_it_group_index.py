"""post_it: drop the index on group_id alone; the unique (group_id, request_key) index
starts with group_id and serves the same lookups (SQLite and PostgreSQL), so every new
post-it writes one B-tree fewer

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('post_it', schema=None) as batch_op:
        batch_op.drop_index('ix_post_it_group_id')


def downgrade() -> None:
    with op.batch_alter_table('post_it', schema=None) as batch_op:
        batch_op.create_index('ix_post_it_group_id', ['group_id'], unique=False)
