"""Baseline (b): PyIceberg's own in-process `SqlCatalog`, doing the very same appends.

It is what a team might run instead of a REST catalog: no server, each client process talks to
the database and the warehouse itself. Its commit loads the table (reads and parses the current
metadata file), applies the updates with pyiceberg, writes the new file (without fsync) and
moves the pointer with an `UPDATE ... WHERE metadata_location = previous`. Same updates, same
requirements as the catalog receives over HTTP (`appends.py`).
"""

from __future__ import annotations

from pathlib import Path

from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table

from tests.benchmarks.appends import head_of, next_append
from tests.benchmarks.metadata import PARTITION_SPEC, PROPERTIES, SCHEMA


class SqlCatalogWriter:
    def __init__(self, catalog: SqlCatalog, identifier: str) -> None:
        self._catalog = catalog
        self._identifier = identifier
        self._refresh()

    def _refresh(self) -> None:
        self._table: Table = self._catalog.load_table(self._identifier)
        self._head = head_of(self._table.metadata)

    def try_append(self) -> bool:
        append = next_append(self._head)
        try:
            self._catalog.commit_table(self._table, append.requirements, append.updates)
        except CommitFailedException:
            self._refresh()
            return False
        self._head = append.after
        return True


def open_sql_catalog(database_url: str, warehouse: Path | str, **properties: str) -> SqlCatalog:
    """On a local folder, or on an object store URI (`s3.*` properties say how to reach it)."""
    if isinstance(warehouse, Path):
        warehouse.mkdir(parents=True, exist_ok=True)
        warehouse = warehouse.as_uri()
    return SqlCatalog("bench", uri=database_url, warehouse=warehouse, **properties)


def sql_writers(catalog: SqlCatalog, namespace: str, tables: list[str]) -> list[SqlCatalogWriter]:
    """Create each distinct table of `tables` as the catalog does; one writer per entry."""
    catalog.create_namespace_if_not_exists(namespace)
    for name in dict.fromkeys(tables):
        catalog.create_table(
            f"{namespace}.{name}",
            schema=SCHEMA,
            partition_spec=PARTITION_SPEC,
            properties=PROPERTIES,
        )
    return [SqlCatalogWriter(catalog, f"{namespace}.{name}") for name in tables]
