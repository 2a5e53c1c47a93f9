"""author indexes with the post: the duplicate check reads one author's comments on one post

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 00:35:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_author_email')
        batch_op.drop_index('ix_comments_user_id')
        batch_op.create_index('ix_comments_author_email_post', ['author_email', 'post_id'], unique=False)
        batch_op.create_index('ix_comments_user_post', ['user_id', 'post_id'], unique=False)


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_user_post')
        batch_op.drop_index('ix_comments_author_email_post')
        batch_op.create_index('ix_comments_user_id', ['user_id'], unique=False)
        batch_op.create_index('ix_comments_author_email', ['author_email'], unique=False)
