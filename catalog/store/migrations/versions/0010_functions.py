"""catalog functions (the REST spec's listFunctions and loadFunction)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 23:00:00

A table of their own rather than a `kind` of `catalog_objects`: a function has no location and
no metadata file, its name may equal a table's or a view's (engines resolve functions and
relations apart), and the hot queries of tables and views stay as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_functions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("warehouse_id", sa.String(length=36), nullable=False),
        sa.Column("namespace_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["namespace_id"], ["namespaces.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("namespace_id", "name", name="uq_catalog_functions_namespace_name"),
    )
    op.create_index("ix_catalog_functions_warehouse_id", "catalog_functions", ["warehouse_id"])


def downgrade() -> None:
    op.drop_index("ix_catalog_functions_warehouse_id", table_name="catalog_functions")
    op.drop_table("catalog_functions")
