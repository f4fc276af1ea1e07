"""Catalogs with many tables, written straight into the database.

Creating 100,000 tables over HTTP takes the better part of an hour; the figures that need them
(loadTable, listings) only read, so the rows are inserted directly, in batches, through the
catalog's own table mappings. Everything around the rows is made by the catalog itself: a
server is started once on the empty data directory (it migrates, creates the default warehouse
and the admin token, as on any first start), creates the namespace over HTTP, and is stopped
before the rows go in. Each row carries real metadata JSON: the template table of
`metadata.py` with three appends behind it, given its own UUID and location.

The metadata files those rows name are not written: loadTable and listings never read them.
Each row's search entry is written beside it (`catalog.store.search_index`), as the catalog
writes it when it creates a table, so search finds the tables as it would have.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert, select

from catalog.settings import Settings
from catalog.store import models
from catalog.store.database import create_catalog_engine
from catalog.store.models import CatalogObject, Namespace, Warehouse, utcnow
from tests.benchmarks.metadata import add_history, checked_text, new_document
from tests.benchmarks.servers import catalog_client, catalog_servers

NAMESPACE = "bench"
SNAPSHOTS_PER_TABLE = 3
BATCH = 2_000
_LOCATION = "file:///__bench_location__"
_UUID = uuid.UUID("00000000-0000-4000-8000-00000000beef")


@dataclass(frozen=True)
class PopulatedCatalog:
    """`tables` tables in namespace `bench`, and `namespaces` more (empty) namespaces."""

    data_dir: Path
    database_url: str | None
    tables: int
    namespaces: int
    metadata_bytes: int

    @property
    def namespace(self) -> str:
        return NAMESPACE

    def table_name(self, index: int) -> str:
        return f"t{index:06d}"


def _batches(count: int) -> Iterator[range]:
    for start in range(0, count, BATCH):
        yield range(start, min(count, start + BATCH))


def _prepare(data_dir: Path, database_url: str | None) -> None:
    with catalog_servers(data_dir, database_url) as [server], catalog_client(server) as client:
        client.post("/namespaces", json={"namespace": [NAMESPACE]}).raise_for_status()


def _table_rows(
    warehouse_id: str, warehouse_location: str, namespace_id: str, batch: range, template: str
) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for index in batch:
        table_uuid = uuid.uuid4()
        name = f"t{index:06d}"
        location = f"{warehouse_location}/{NAMESPACE}/{name}-{table_uuid.hex}"
        metadata_file = f"{SNAPSHOTS_PER_TABLE:05d}-{uuid.uuid4()}.metadata.json"
        row: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "warehouse_id": warehouse_id,
            "namespace_id": namespace_id,
            "name": name,
            "kind": "table",
            "metadata_location": f"{location}/metadata/{metadata_file}",
            "metadata_json": template.replace(_LOCATION, location).replace(
                str(_UUID), str(table_uuid)
            ),
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        if "location" in CatalogObject.__table__.c:  # schemas that index tables by location
            row["location"] = location
        rows.append(row)
    return rows


def _namespace_rows(warehouse_id: str, batch: range) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "id": str(uuid.uuid4()),
            "warehouse_id": warehouse_id,
            "name": f"ns{index:06d}",
            "parent": "",
            "parent_id": None,
            "properties": {"owner": "bench"},
            "created_at": now,
            "updated_at": now,
        }
        for index in batch
    ]


def _search_rows(rows: list[dict[str, Any]], document: dict[str, Any]) -> list[dict[str, Any]]:
    """The search entries of table rows (all made from one template, so one document) or of
    namespace rows; empty for a schema from before the search index."""
    from catalog.store import search_index  # absent from checkouts older than the index

    entries = []
    for row in rows:
        if "kind" in row:
            entries.append(
                search_index.object_entry(
                    row["id"], row["warehouse_id"], "table", (NAMESPACE,), row["name"], document
                )
            )
        else:
            levels = (row["name"],)
            entries.append(
                search_index.namespace_entry(
                    row["id"], row["warehouse_id"], levels, row["properties"]
                )
            )
    return entries


def _insert(connection: Any, rows: list[dict[str, Any]], document: dict[str, Any]) -> None:
    connection.execute(insert(CatalogObject if "kind" in rows[0] else Namespace), rows)
    if hasattr(models, "SearchEntry"):
        connection.execute(insert(models.SearchEntry), _search_rows(rows, document))


def populate(
    data_dir: Path, database_url: str | None, tables: int, namespaces: int = 0
) -> PopulatedCatalog:
    _prepare(data_dir, database_url)
    template = checked_text(add_history(new_document(_LOCATION, _UUID), SNAPSHOTS_PER_TABLE))
    engine = create_catalog_engine(
        database_url or Settings(data_dir=data_dir).resolved_database_url
    )
    try:
        with engine.begin() as connection:
            warehouse = connection.execute(select(Warehouse.id, Warehouse.location)).one()
            holder = connection.execute(
                select(Namespace.id).where(Namespace.name == NAMESPACE)
            ).scalar_one()
        sample = ""
        document = orjson.loads(template)
        for batch in _batches(tables):
            rows = _table_rows(warehouse.id, warehouse.location, holder, batch, template)
            sample = sample or rows[0]["metadata_json"]
            with engine.begin() as connection:
                _insert(connection, rows, document)
        for batch in _batches(namespaces):
            with engine.begin() as connection:
                _insert(connection, _namespace_rows(warehouse.id, batch), document)
    finally:
        engine.dispose()
    return PopulatedCatalog(data_dir, database_url, tables, namespaces, len(sample))
