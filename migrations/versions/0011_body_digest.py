"""comments.body_digest, and author indexes by status: posting's checks no longer read all of an author's comments

The duplicate check read every comment the author had written on the post, and the
earlier-approval check every comment they had written anywhere, for each new comment: a
prolific commenter (or a spammer) made each of their comments dearer than the last. The
duplicate check now finds the same text on the post from ix_comments_post_digest, and
the approval check reads (author, status) from the index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 19:40:00

"""
import hashlib

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_digest', sa.String(length=16), nullable=True))
    # The same digest as blog.models.digest_of (a migration keeps its own copy of what it runs).
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(sa.text("SELECT id, body_raw FROM comments WHERE id > :last ORDER BY id LIMIT :n"),
                                  {"last": last, "n": BATCH}).all()
        if not rows:
            break
        connection.execute(sa.text("UPDATE comments SET body_digest = :digest WHERE id = :id"),
                           [{"id": id_, "digest": hashlib.sha256(body.encode()).hexdigest()[:16]}
                            for id_, body in rows])
        last = rows[-1][0]
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_author_email_post')
        batch_op.drop_index('ix_comments_user_post')
        batch_op.create_index('ix_comments_author_email_status', ['author_email', 'status'], unique=False)
        batch_op.create_index('ix_comments_user_status', ['user_id', 'status'], unique=False)
        batch_op.create_index('ix_comments_post_digest', ['post_id', 'body_digest'], unique=False)


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_post_digest')
        batch_op.drop_index('ix_comments_user_status')
        batch_op.drop_index('ix_comments_author_email_status')
        batch_op.create_index('ix_comments_user_post', ['user_id', 'post_id'], unique=False)
        batch_op.create_index('ix_comments_author_email_post', ['author_email', 'post_id'], unique=False)
        batch_op.drop_column('body_digest')
