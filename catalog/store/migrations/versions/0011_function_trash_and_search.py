"""functions in the trash and in search

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 23:45:00

A dropped function goes to `trashed_objects` like a table or a view. It has no metadata file
and no location, so those two columns become nullable (NULL for a function, never for a table
or a view): an empty string would read as a location at the warehouse's root to the
placement checks. Functions that exist before this revision get their search entries here,
as 0008 wrote those of the tables and views that existed before it.
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trashed_objects", schema=None) as batch_op:
        batch_op.alter_column("metadata_location", existing_type=sa.Text(), nullable=True)
        batch_op.alter_column("location", existing_type=sa.Text(), nullable=True)
    _index_existing_functions()


def _index_existing_functions() -> None:
    # The entry is computed as the catalog computes it (catalog.store.search_index).
    from catalog.store.search_index import function_entry

    bind = op.get_bind()
    entries = sa.table(
        "search_entries",
        sa.column("entity_id"),
        sa.column("warehouse_id"),
        sa.column("kind"),
        sa.column("namespace"),
        sa.column("name"),
        sa.column("columns"),
        sa.column("properties"),
    )
    functions = bind.execute(
        sa.text(
            "SELECT f.id, f.warehouse_id, n.name AS namespace, f.name, f.metadata_json "
            "FROM catalog_functions f JOIN namespaces n ON n.id = f.namespace_id"
        )
    )
    rows = [
        function_entry(
            row.id,
            row.warehouse_id,
            tuple(row.namespace.split("\x1f")),
            row.name,
            orjson.loads(row.metadata_json),
        )
        for row in functions
    ]
    if rows:
        op.bulk_insert(entries, rows)


def downgrade() -> None:
    # Before this revision functions were neither trashed nor searchable: their entries go.
    op.execute("DELETE FROM search_entries WHERE kind = 'function'")
    op.execute("DELETE FROM trashed_objects WHERE kind = 'function'")
    with op.batch_alter_table("trashed_objects", schema=None) as batch_op:
        batch_op.alter_column("location", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("metadata_location", existing_type=sa.Text(), nullable=False)
