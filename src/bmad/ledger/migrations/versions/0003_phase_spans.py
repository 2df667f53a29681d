"""The spans of each phase run: its waits on other systems (additive: a new table, no column changed).

Revision ID: 0003
Revises: 0001 (0002, "who deployed", is written on another branch: when both meet, this one
revises 0002 and ``HEAD_REVISION`` becomes 0003)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bmad.ledger.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phase_spans",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("phase_run_id", sa.Integer(), sa.ForeignKey("phase_runs.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_phase_spans_phase_run_id", "phase_spans", ["phase_run_id"])


def downgrade() -> None:
    op.drop_index("ix_phase_spans_phase_run_id", table_name="phase_spans")
    op.drop_table("phase_spans")
