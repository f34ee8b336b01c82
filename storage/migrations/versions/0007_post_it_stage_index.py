"""post_it: drop the index on stage_id. No query looks post-its up by stage alone (boards
read by group, through the unique (group_id, request_key) index), stages are only ever
removed softly (`removed_at`), and each new post-it wrote one more B-tree leaf for it: in
a burst, where a batch's post-its belong to different groups, that was a page per row of
the batch (about a quarter of SQLite's work per post-it)

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('post_it', schema=None) as batch_op:
        batch_op.drop_index('ix_post_it_stage_id')


def downgrade() -> None:
    with op.batch_alter_table('post_it', schema=None) as batch_op:
        batch_op.create_index('ix_post_it_stage_id', ['stage_id'], unique=False)
