"""exactly-once delivery: idempotency keys, replies tied to their message, expiring claims

Inbound touchpoints carry the channel's idempotency key (Telegram's update id,
the widget's client message id), unique per conversation: storing the message
is the claim, so a redelivered update finds it instead of a separate
``seen_updates`` row. Outbound touchpoints point at the message they answer
and are ``queued`` until the channel confirms them (``delivered``). A
follow-up's claim expires (``claimed_until``), so a crash never leaves it
"sending".

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("reply_to_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            "uq_touchpoint_idempotency", ["conversation_id", "idempotency_key"]
        )
        batch_op.create_foreign_key(
            "fk_touchpoints_reply_to", "touchpoints", ["reply_to_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(batch_op.f("ix_touchpoints_reply_to_id"), ["reply_to_id"])
    op.execute(
        "UPDATE touchpoints SET status = 'delivered' WHERE direction = 'out' AND status = 'done'"
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE followups SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table("seen_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seen_updates_received_at"))
    op.drop_table("seen_updates")


def downgrade() -> None:
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
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
    op.execute(
        "UPDATE touchpoints SET status = 'done' WHERE direction = 'out' AND status = 'delivered'"
    )
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_touchpoints_reply_to_id"))
        batch_op.drop_constraint("fk_touchpoints_reply_to", type_="foreignkey")
        batch_op.drop_constraint("uq_touchpoint_idempotency", type_="unique")
        batch_op.drop_column("reply_to_id")
        batch_op.drop_column("idempotency_key")
