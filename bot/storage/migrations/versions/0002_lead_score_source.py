"""lead score reasons, zombie flag, source question

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:51:43.096756
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("score_reasons", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("zombie", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("source_asked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("source_asked_at")
        batch_op.drop_column("zombie")
        batch_op.drop_column("score_reasons")
