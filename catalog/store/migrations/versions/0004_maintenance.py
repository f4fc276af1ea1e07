"""maintenance: policies, leases and run records

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maintenance_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("warehouse_id", sa.String(length=36), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["object_id"], ["catalog_objects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("maintenance_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_policies_warehouse_id"), ["warehouse_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_maintenance_policies_object_id"), ["object_id"], unique=False
        )

    op.create_table(
        "maintenance_leases",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )

    op.create_table(
        "maintenance_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("warehouse", sa.String(length=128), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("table_name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("runner", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("files_before", sa.BigInteger(), nullable=False),
        sa.Column("files_after", sa.BigInteger(), nullable=False),
        sa.Column("bytes_rewritten", sa.BigInteger(), nullable=False),
        sa.Column("files_deleted", sa.BigInteger(), nullable=False),
        sa.Column("snapshots_expired", sa.BigInteger(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("maintenance_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_maintenance_runs_table",
            ["warehouse", "namespace", "table_name", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("maintenance_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_runs_table")
    op.drop_table("maintenance_runs")
    op.drop_table("maintenance_leases")
    with op.batch_alter_table("maintenance_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_policies_object_id"))
        batch_op.drop_index(batch_op.f("ix_maintenance_policies_warehouse_id"))
    op.drop_table("maintenance_policies")
