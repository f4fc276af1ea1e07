"""The connection snippets `icefloe serve` prints work as printed (with the token file it names).

Only the extension set-up differs: the printed DuckDB block runs `INSTALL iceberg`, which needs
the internet; here the pinned extension files are loaded instead.
"""

from __future__ import annotations

import uuid

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog

from catalog.connect import duckdb_snippet, pyiceberg_snippet
from tests.support import duckdb_iceberg
from tests.support.server import CatalogServer


def test_printed_pyiceberg_snippet_connects(embedded_server: CatalogServer) -> None:
    code = pyiceberg_snippet(
        embedded_server.url, "default", embedded_server.data_dir / "admin.token"
    )
    scope: dict[str, object] = {}
    exec(code, scope)
    catalog = scope["catalog"]
    assert isinstance(catalog, RestCatalog)
    assert ("demo",) in catalog.list_namespaces()


def test_printed_duckdb_snippet_attaches_and_reads(embedded_server: CatalogServer) -> None:
    namespace = f"printed_{uuid.uuid4().hex[:8]}"
    catalog = RestCatalog(
        "t", uri=embedded_server.url, warehouse="default", token=embedded_server.token
    )
    catalog.create_namespace(namespace)
    rows = pa.table({"id": pa.array([1, 2, 3], pa.int64())})
    catalog.create_table(f"{namespace}.t", schema=rows.schema).append(rows)

    code = duckdb_snippet(embedded_server.url, "default", embedded_server.data_dir / "admin.token")
    first_line, rest = code.split("\n", 1)
    assert first_line == "INSTALL iceberg; LOAD iceberg;"
    connection = duckdb_iceberg.connect()
    statements = [s for s in rest.split(";") if s.strip()]
    for statement in statements[:-1]:
        connection.execute(statement)
    shown = connection.execute(statements[-1]).fetchall()
    assert ("icefloe", namespace, "t") in {row[:3] for row in shown}
    assert connection.execute(f"SELECT sum(id) FROM icefloe.{namespace}.t").fetchall() == [(6,)]
