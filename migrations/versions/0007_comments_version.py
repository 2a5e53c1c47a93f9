"""posts.comments_version and comments_changed_at: the thread cache's key and Last-Modified

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 19:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comments_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('comments_changed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('comments_changed_at')
        batch_op.drop_column('comments_version')
