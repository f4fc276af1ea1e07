"""commit approval settings per warehouse, and the search index

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-28 20:00:00

The search index is the database's own full-text index, so it needs nothing installed:
SQLite's FTS5 (an external-content table over `search_entries`, kept by triggers) and
PostgreSQL's full text search (a generated, weighted `tsvector` with a GIN index; pg_trgm would
need an extension some managed databases do not allow). Entries of what exists before this
revision are written here, so an upgraded catalog finds its old tables too.
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "name, namespace, columns, properties, content='search_entries', content_rowid='id')",
    "CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN "
    "INSERT INTO search_fts(rowid, name, namespace, columns, properties) "
    "VALUES (new.id, new.name, replace(new.namespace, char(31), ' '), new.columns, "
    "new.properties); END",
    "CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, name, namespace, columns, properties) "
    "VALUES ('delete', old.id, old.name, replace(old.namespace, char(31), ' '), old.columns, "
    "old.properties); END",
    "CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, name, namespace, columns, properties) "
    "VALUES ('delete', old.id, old.name, replace(old.namespace, char(31), ' '), old.columns, "
    "old.properties); "
    "INSERT INTO search_fts(rowid, name, namespace, columns, properties) "
    "VALUES (new.id, new.name, replace(new.namespace, char(31), ' '), new.columns, "
    "new.properties); END",
]

_POSTGRES_INDEX = [
    "ALTER TABLE search_entries ADD COLUMN document tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', name), 'A') || "
    "setweight(to_tsvector('simple', replace(namespace, chr(31), ' ')), 'B') || "
    "setweight(to_tsvector('simple', columns), 'C') || "
    "setweight(to_tsvector('simple', properties), 'D')) STORED",
    "CREATE INDEX ix_search_entries_document ON search_entries USING gin (document)",
]


def upgrade() -> None:
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval", sa.JSON(), nullable=True))
    op.create_table(
        "search_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("warehouse_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=9), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entity_id"),
    )
    op.create_index("ix_search_entries_warehouse_id", "search_entries", ["warehouse_id"])
    op.create_index("ix_search_entries_name", "search_entries", ["name"])
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_INDEX if dialect == "sqlite" else _POSTGRES_INDEX:
        op.execute(statement)
    _index_existing()


def _index_existing() -> None:
    # The text of an entry is computed as the catalog computes it; imported here so that the
    # rule stays in one place (catalog.store.search_index).
    from catalog.store.search_index import namespace_entry, object_entry

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
    rows = []
    for row in bind.execute(sa.text("SELECT id, warehouse_id, name, properties FROM namespaces")):
        properties = (
            row.properties
            if isinstance(row.properties, dict)
            else orjson.loads(row.properties or "{}")
        )
        levels = tuple(row.name.split("\x1f"))
        rows.append(namespace_entry(row.id, row.warehouse_id, levels, properties))
    objects = bind.execute(
        sa.text(
            "SELECT o.id, o.warehouse_id, o.kind, n.name AS namespace, o.name, o.metadata_json "
            "FROM catalog_objects o JOIN namespaces n ON n.id = o.namespace_id"
        )
    )
    for row in objects:
        levels = tuple(row.namespace.split("\x1f"))
        document = orjson.loads(row.metadata_json)
        rows.append(object_entry(row.id, row.warehouse_id, row.kind, levels, row.name, document))
    if rows:
        op.bulk_insert(entries, rows)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("search_entries_ai", "search_entries_ad", "search_entries_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_index("ix_search_entries_name", table_name="search_entries")
    op.drop_index("ix_search_entries_warehouse_id", table_name="search_entries")
    op.drop_table("search_entries")
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.drop_column("approval")
