"""whether the prospect came to a booking: attended or no-show, marked by the team

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as table:
        table.add_column(sa.Column("attendance", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as table:
        table.drop_column("attendance")
