"""trash: dropped tables and views kept for the warehouse's retention period

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-28 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A table of its own, not a `dropped_at` column on catalog_objects: loadTable, listing and
    # the commit's compare-and-swap keep their queries and indexes exactly as they were.
    op.create_table(
        "trashed_objects",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("warehouse_id", sa.String(length=36), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("metadata_location", sa.Text(), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("namespaces", sa.JSON(), nullable=False),
        sa.Column("purge_requested", sa.Boolean(), nullable=False),
        sa.Column("dropped_by", sa.String(length=255), nullable=False),
        sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purge_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_trashed_objects_name", "trashed_objects", ["warehouse_id", "namespace", "name"]
    )
    op.create_index("ix_trashed_objects_expires_at", "trashed_objects", ["expires_at"])
    op.create_index("ix_trashed_objects_location", "trashed_objects", ["location"])


def downgrade() -> None:
    op.drop_index("ix_trashed_objects_location", table_name="trashed_objects")
    op.drop_index("ix_trashed_objects_expires_at", table_name="trashed_objects")
    op.drop_index("ix_trashed_objects_name", table_name="trashed_objects")
    op.drop_table("trashed_objects")
