"""moderation_mail_comments: a held comment joins the waiting moderation mail with a row of its own

Each held comment of a busy interval used to add its id to the waiting mail's headers:
one row every writer updated in turn, and on PostgreSQL two writers could each store
their own list over the other's. Now each comment inserts its own row; the mail is
written from them when it is due. The ids already in waiting mails' headers are moved
over (the count of comments a mail only counted, not listed, starts again from these).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 04:10:00

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'moderation_mail_comments',
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('outbox_id', 'comment_id'),
    )
    with op.batch_alter_table('moderation_mail_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_mail_comments_comment_id'), ['comment_id'], unique=False)
    connection = op.get_bind()
    waiting = connection.execute(sa.text(
        "SELECT id, headers FROM outbox WHERE kind = 'moderation' AND status = 'queued'")).all()
    join = sa.text("INSERT INTO moderation_mail_comments (outbox_id, comment_id) "
                   "SELECT :o, id FROM comments WHERE id IN :ids").bindparams(sa.bindparam("ids", expanding=True))
    for outbox_id, headers in waiting:
        headers = json.loads(headers) if isinstance(headers, str) else (headers or {})
        ids = list(dict.fromkeys(int(i) for i in str(headers.get('X-Blog-Comment-Ids', '')).split(',')
                                 if i.isdigit()))
        if ids:  # those of comments still there
            connection.execute(join, {"o": outbox_id, "ids": ids})


def downgrade():
    with op.batch_alter_table('moderation_mail_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_mail_comments_comment_id'))
    op.drop_table('moderation_mail_comments')
