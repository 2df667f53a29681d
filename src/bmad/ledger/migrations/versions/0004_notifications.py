"""Each notification delivery of a release (additive: a new table, no column changed).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bmad.ledger.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("release_id", sa.Integer(), sa.ForeignKey("releases.id"), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("channel_type", sa.String(16), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_notifications_release_id", "notifications", ["release_id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_release_id", table_name="notifications")
    op.drop_table("notifications")
