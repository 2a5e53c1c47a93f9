"""posts.comment_count and top_level_count, and an index of top-level comments in page order

A page read its counts by summing over every approved comment of the post, and on
PostgreSQL its slice of top-level comments by sorting all of them: both grew with
the thread. The counts are now kept on the post and recounted on each change to its
comments, from ix_comments_counted and ix_comments_roots alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 16:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

RECOUNT = """
UPDATE posts SET
  comment_count = (SELECT count(*) FROM comments
                   WHERE comments.post_id = posts.id AND comments.status = 'approved'
                     AND comments.deleted_at IS NULL),
  top_level_count = (SELECT count(*) FROM comments
                     WHERE comments.post_id = posts.id AND comments.status = 'approved'
                       AND comments.parent_id IS NULL)
"""


def upgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('top_level_count', sa.Integer(), server_default='0', nullable=False))
    op.execute(RECOUNT)
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index('ix_comments_roots', ['post_id', 'status', 'created_at', 'id'], unique=False,
                              sqlite_where=sa.text('parent_id IS NULL'),
                              postgresql_where=sa.text('parent_id IS NULL'))
        batch_op.create_index('ix_comments_counted', ['post_id', 'status', 'deleted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_counted')
        batch_op.drop_index('ix_comments_roots')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('top_level_count')
        batch_op.drop_column('comment_count')
