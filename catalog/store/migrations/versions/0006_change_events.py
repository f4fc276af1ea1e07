"""change events: the outbox and each sink's delivery state

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("stream", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        sa.UniqueConstraint("position"),
    )
    op.create_table(
        "event_deliveries",
        sa.Column("sink", sa.String(length=64), nullable=False),
        sa.Column("event", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("stream", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["event"], ["change_events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sink", "event"),
    )
    op.create_index("ix_event_deliveries_queue", "event_deliveries", ["sink", "state", "position"])
    op.create_index(
        "ix_event_deliveries_stream", "event_deliveries", ["sink", "stream", "position"]
    )


def downgrade() -> None:
    op.drop_index("ix_event_deliveries_stream", table_name="event_deliveries")
    op.drop_index("ix_event_deliveries_queue", table_name="event_deliveries")
    op.drop_table("event_deliveries")
    op.drop_table("change_events")
