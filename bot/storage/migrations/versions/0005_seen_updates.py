"""seen updates: each Telegram update is processed once, also across restarts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "update_id", name="uq_seen_update"),
    )
    with op.batch_alter_table("seen_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seen_updates_received_at"), ["received_at"])


def downgrade() -> None:
    with op.batch_alter_table("seen_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seen_updates_received_at"))
    op.drop_table("seen_updates")
