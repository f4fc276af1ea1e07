"""DuckDB with its iceberg, httpfs and avro extensions loaded from the pinned wheels (offline)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import duckdb

EXTENSIONS = ("httpfs", "avro", "iceberg")


def extension_path(name: str) -> Path:
    site = Path(sysconfig.get_paths()["purelib"])
    found = sorted(site.glob(f"duckdb_extension_{name}/extensions/*/{name}.duckdb_extension"))
    if not found:
        raise RuntimeError(f"duckdb-extension-{name} is not installed")
    return found[-1]


def connect() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    for name in EXTENSIONS:
        connection.execute(f"LOAD '{extension_path(name)}'")
    return connection
