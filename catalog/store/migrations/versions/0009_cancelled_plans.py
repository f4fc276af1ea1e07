"""cancelled scan plans, shared by every process of a deployment

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 23:30:00

A plan id is a signed token any worker answers (`catalog.planning.tokens`); a cancellation
must therefore be seen by every worker, not only the one that got it. One row per cancelled
plan, by its digest, kept until the plan's tokens expire (after that they are refused anyway).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cancelled_plans",
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan"),
    )
    op.create_index("ix_cancelled_plans_expires_at", "cancelled_plans", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_cancelled_plans_expires_at", table_name="cancelled_plans")
    op.drop_table("cancelled_plans")
