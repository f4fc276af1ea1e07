"""DuckDB 1.5.5 and its iceberg extension against a real catalog over HTTP, connected with the
README's own snippets: bearer token and OAuth2 client credentials, listing, filters, time
travel, DDL and writes with vended credentials on the embedded store; and the exact answers
where DuckDB or the caller cannot do something."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField
from pyiceberg.view.metadata import SQLViewRepresentation, ViewVersion

from tests.support import duckdb_iceberg
from tests.support.engines import (
    VENDED,
    create_token,
    filled_in,
    local_replacements,
    oauth_replacements,
    run_sql,
)
from tests.support.server import CatalogServer

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
MORE = pa.table({"id": pa.array([4], pa.int64()), "name": ["d"]})


def test_readme_bearer_snippet_lists_schemas_and_tables(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    pyiceberg.create_table(f"{ns}.t", schema=ROWS.schema)
    connection, shown = run_sql("duckdb-bearer", local_replacements(embedded_server))
    assert ("lake", ns, "t") in {row[:3] for row in shown}
    schemas = connection.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = 'lake'"
    ).fetchall()
    assert (ns,) in schemas
    assert connection.execute(f"SHOW TABLES FROM lake.{ns}").fetchall() == [("t",)]


def test_readme_oauth2_snippet_gets_a_token_and_reads_with_vended_credentials(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    pyiceberg.create_table(f"{ns}.t", schema=ROWS.schema).append(ROWS)
    client = create_token(embedded_server, "read-write")
    connection, shown = run_sql("duckdb-oauth2", oauth_replacements(embedded_server, client))
    assert ("lake", ns, "t") in {row[:3] for row in shown}
    assert connection.execute(f"SELECT count(*) FROM lake.{ns}.t").fetchall() == [(3,)]
    connection.execute(f"INSERT INTO lake.{ns}.t VALUES (4, 'd')")
    assert pyiceberg.load_table(f"{ns}.t").scan().to_arrow().num_rows == 4


def test_oauth2_with_a_wrong_secret_is_refused_clearly(embedded_server: CatalogServer) -> None:
    client = create_token(embedded_server, "read-write")
    block = filled_in("duckdb-oauth2", oauth_replacements(embedded_server, client))
    create_secret = block.split(";")[0]
    assert "OAUTH2_SCOPE" not in create_secret  # DuckDB's default scope is accepted
    wrong_secret = create_secret.replace(client.secret, "wrong")
    with pytest.raises(duckdb.Error, match="invalid_client - Unknown client or wrong secret"):
        duckdb_iceberg.connect().execute(wrong_secret)


def test_select_with_filters_and_projection(
    lake: duckdb.DuckDBPyConnection, pyiceberg: RestCatalog, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.t", schema=ROWS.schema)
    table.append(ROWS)
    table.append(MORE)
    rows = lake.execute(
        f"SELECT name FROM lake.{ns}.t WHERE id BETWEEN 2 AND 4 AND name <> 'c' ORDER BY id"
    ).fetchall()
    assert rows == [("b",), ("d",)]
    assert lake.execute(f"SELECT max(id) FROM lake.{ns}.t WHERE name LIKE 'a%'").fetchall() == [
        (1,)
    ]


def test_time_travel_by_snapshot_id_and_by_timestamp(
    lake: duckdb.DuckDBPyConnection, pyiceberg: RestCatalog, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.t", schema=ROWS.schema)
    table.append(ROWS)
    first = table.current_snapshot()
    assert first is not None
    table.append(MORE)
    at = datetime.fromtimestamp(first.timestamp_ms / 1000, tz=UTC).isoformat()

    def ids(sql: str) -> list[int]:
        return [row[0] for row in lake.execute(sql).fetchall()]

    assert ids(f"SELECT id FROM lake.{ns}.t ORDER BY id") == [1, 2, 3, 4]
    by_version = f"SELECT id FROM lake.{ns}.t AT (VERSION => {first.snapshot_id}) ORDER BY id"
    assert ids(by_version) == [1, 2, 3]
    by_time = f"SELECT id FROM lake.{ns}.t AT (TIMESTAMP => TIMESTAMPTZ '{at}') ORDER BY id"
    assert ids(by_time) == [1, 2, 3]
    snapshots = lake.execute(f"SELECT snapshot_id FROM iceberg_snapshots(lake.{ns}.t)").fetchall()
    assert {row[0] for row in snapshots} == {s.snapshot_id for s in table.snapshots()}


def test_readme_usage_snippet_creates_writes_updates_and_deletes(
    embedded_server: CatalogServer, lake: duckdb.DuckDBPyConnection, pyiceberg: RestCatalog
) -> None:
    usage = filled_in("duckdb-usage", {})
    assert lake.execute(usage).fetchall() == [("Lima", 4.0), ("Oslo", 12.5)]
    trips = pyiceberg.load_table("demo.trips")
    assert trips.format_version == 2
    assert sorted(trips.scan().to_arrow().to_pylist(), key=lambda row: row["id"]) == [
        {"id": 1, "city": "Oslo", "km": 12.5},
        {"id": 2, "city": "Lima", "km": 4.0},
    ]
    summaries = [snapshot.summary for snapshot in trips.snapshots()]
    assert [s.operation.value for s in summaries if s] == ["append", "overwrite", "delete"]


def test_create_schema_table_as_select_alter_and_drop(
    lake: duckdb.DuckDBPyConnection, pyiceberg: RestCatalog
) -> None:
    schema = f"d_{uuid.uuid4().hex[:8]}"
    lake.execute(f"CREATE SCHEMA lake.{schema}")
    lake.execute(f"CREATE TABLE lake.{schema}.copy AS SELECT range AS n FROM range(5)")
    lake.execute(f"ALTER TABLE lake.{schema}.copy ADD COLUMN label VARCHAR")
    lake.execute(f"INSERT INTO lake.{schema}.copy VALUES (5, 'five')")
    copy = pyiceberg.load_table(f"{schema}.copy")
    assert [field.name for field in copy.schema().fields] == ["n", "label"]
    assert copy.scan(row_filter="n >= 4").to_arrow().to_pylist() in (
        [{"n": 4, "label": None}, {"n": 5, "label": "five"}],
        [{"n": 5, "label": "five"}, {"n": 4, "label": None}],
    )
    lake.execute(f"DROP TABLE lake.{schema}.copy")
    assert pyiceberg.list_tables(schema) == []


def test_update_and_delete_need_format_version_2(
    lake: duckdb.DuckDBPyConnection, pyiceberg: RestCatalog, ns: str
) -> None:
    """DuckDB writes position deletes, which format version 1 does not have: its exact refusal
    (the compatibility table quotes it)."""
    v1 = pyiceberg.create_table(f"{ns}.v1", schema=ROWS.schema, properties={"format-version": "1"})
    v1.append(ROWS)
    with pytest.raises(duckdb.NotImplementedException, match="Delete from Iceberg V1 tables"):
        lake.execute(f"DELETE FROM lake.{ns}.v1 WHERE id = 1")
    with pytest.raises(duckdb.NotImplementedException, match="Update Iceberg V1 tables"):
        lake.execute(f"UPDATE lake.{ns}.v1 SET name = 'x' WHERE id = 1")
    lake.execute(f"INSERT INTO lake.{ns}.v1 VALUES (4, 'd')")
    assert pyiceberg.load_table(f"{ns}.v1").scan().to_arrow().num_rows == 4


def test_views_are_neither_listed_nor_created_by_duckdb(
    lake: duckdb.DuckDBPyConnection, pyiceberg: RestCatalog, ns: str
) -> None:
    pyiceberg.create_view(
        f"{ns}.ids",
        Schema(NestedField(1, "id", LongType(), required=False)),
        ViewVersion(
            version_id=1,
            schema_id=0,
            timestamp_ms=1_700_000_000_000,
            summary={"engine-name": "duckdb"},
            representations=[
                SQLViewRepresentation(type="sql", sql="SELECT 1 AS id", dialect="duckdb")
            ],
            default_namespace=[ns],
        ),
    )
    assert pyiceberg.view_exists(f"{ns}.ids")
    assert lake.execute(f"SHOW TABLES FROM lake.{ns}").fetchall() == []
    with pytest.raises(duckdb.CatalogException, match="Table with name ids does not exist"):
        lake.execute(f"SELECT * FROM lake.{ns}.ids")
    with pytest.raises(duckdb.NotImplementedException, match="Create View"):
        lake.execute(f"CREATE VIEW lake.{ns}.other AS SELECT 1 AS id")


def test_remote_signing_is_not_a_duckdb_access_mode(embedded_server: CatalogServer) -> None:
    attach = filled_in("duckdb-bearer", local_replacements(embedded_server)).replace(
        f"ENDPOINT '{embedded_server.url}',",
        f"ENDPOINT '{embedded_server.url}', ACCESS_DELEGATION_MODE 'remote_signing',",
    )
    with pytest.raises(duckdb.InvalidInputException, match="Unrecognized access mode"):
        duckdb_iceberg.connect().execute(attach)


def test_a_read_only_token_reads_and_its_writes_fail_clearly(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str, tmp_path: Path
) -> None:
    pyiceberg.create_table(f"{ns}.t", schema=ROWS.schema).append(ROWS)
    token_file = tmp_path / "read-only.token"
    token_file.write_text(create_token(embedded_server, "read-only").bearer + "\n")
    reader, _ = run_sql("duckdb-bearer", local_replacements(embedded_server, token_file))

    assert reader.execute(f"SELECT count(*) FROM lake.{ns}.t").fetchall() == [(3,)]
    # The data file is refused by the store (read-only vended credentials), before any commit.
    with pytest.raises(duckdb.HTTPException, match="AccessDenied"):
        reader.execute(f"INSERT INTO lake.{ns}.t VALUES (9, 'z')")
    # Catalog writes are refused by the catalog, with its ErrorModel in DuckDB's message.
    with pytest.raises(
        duckdb.Error, match=f"Forbidden_403.*Permission write needed on {ns}.*ForbiddenException"
    ):
        reader.execute(f"CREATE TABLE lake.{ns}.new (a INTEGER)")
    with pytest.raises(
        duckdb.Error,
        match=f"Forbidden_403.*Permission write needed on {ns}_child.*ForbiddenException",
    ):
        reader.execute(f"CREATE SCHEMA lake.{ns}_child")
    assert pyiceberg.load_table(f"{ns}.t").scan().to_arrow().num_rows == 3
    assert pyiceberg.list_tables(ns) == [(ns, "t")]


@pytest.mark.parametrize("catalog_server", ["sqlite"], indirect=True)
def test_a_warehouse_that_does_not_vend_answers_clearly_and_duckdb_uses_the_files(
    catalog_server: CatalogServer, catalog: RestCatalog, namespace: str
) -> None:
    """`catalog_server`'s warehouse is a folder: there is nothing to vend."""
    table = catalog.create_table(f"{namespace}.t", schema=ROWS.schema)
    table.append(ROWS)
    headers = {**catalog_server.auth_headers, **VENDED}

    config = httpx.get(f"{catalog_server.url}/v1/config?warehouse=default", headers=headers)
    assert config.status_code == 200
    assert "header.X-Iceberg-Access-Delegation" not in config.json()["defaults"]
    # DuckDB asks for vended credentials on every load: the answer is the table, with none.
    loaded = httpx.get(
        f"{catalog_server.url}/v1/default/namespaces/{namespace}/tables/t", headers=headers
    )
    assert loaded.status_code == 200
    assert loaded.json()["metadata"]["location"].startswith("file://")
    assert "storage-credentials" not in loaded.json()
    assert not any(key.startswith("s3.") for key in loaded.json()["config"])
    credentials = httpx.get(
        f"{catalog_server.url}/v1/default/namespaces/{namespace}/tables/t/credentials",
        headers=headers,
    )
    assert credentials.status_code == 200
    assert credentials.json() == {"storage-credentials": []}

    # On the catalog's own machine, DuckDB reads and writes the files directly.
    lake, _ = run_sql("duckdb-bearer", local_replacements(catalog_server))
    assert lake.execute(f"SELECT count(*) FROM lake.{namespace}.t").fetchall() == [(3,)]
    lake.execute(f"INSERT INTO lake.{namespace}.t VALUES (4, 'd')")
    assert catalog.load_table(f"{namespace}.t").scan().to_arrow().num_rows == 4
