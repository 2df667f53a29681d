"""Who deployed: the actor, the CI run's URL and the trigger of each phase run (nullable, additive).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("phase_runs", sa.Column("actor", sa.String(200), nullable=True))
    op.add_column("phase_runs", sa.Column("ci_run_url", sa.Text(), nullable=True))
    op.add_column("phase_runs", sa.Column("ci_trigger", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("phase_runs") as batch:
        for column in ("ci_trigger", "ci_run_url", "actor"):
            batch.drop_column(column)
