"""hardening: index comments by avatar key (GRAVATAR looks a commenter's email up by it)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 19:58:41.832319

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comments_avatar_key'), ['avatar_key'], unique=False)


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comments_avatar_key'))
