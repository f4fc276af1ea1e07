"""Spark 3.5 with the Iceberg 1.9 runtime against a real server, configured by the README.

One SparkSession (one JVM) for the module, started from the README's `spark-pyspark` block,
against one server whose default warehouse has file:// locations (Spark here has no AWS
bundle for s3://). Each test works in its own namespace.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pyarrow as pa
import pytest
from py4j.protocol import Py4JJavaError
from pyiceberg.catalog.rest import RestCatalog
from pyspark.errors.exceptions.captured import CapturedException

from tests.clients.spark_session import (
    add_catalog,
    java_missing,
    readme_properties,
    readme_session,
)
from tests.support import duckdb_iceberg
from tests.support.server import CatalogServer

pytestmark = [
    pytest.mark.skipif(java_missing() is not None, reason=str(java_missing())),
    pytest.mark.xdist_group("spark"),  # one JVM: with -n, run as --dist loadgroup
]

SparkError = (CapturedException, Py4JJavaError)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    started = CatalogServer(tmp_path_factory.mktemp("spark-catalog"), storage="file").start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def spark(server: CatalogServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    session = readme_session(server, tmp_path_factory.mktemp("spark"), "spark-pyspark")
    yield session
    session.stop()


@pytest.fixture
def pyiceberg(server: CatalogServer) -> RestCatalog:
    return RestCatalog("icefloe", uri=server.url, warehouse="default", token=server.token)


@pytest.fixture
def ns(spark: Any) -> str:
    name = f"spark_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE NAMESPACE icefloe.{name}")
    return name


def rows(spark: Any, query: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in spark.sql(query).collect()]


def create_token(server: CatalogServer, permission: str) -> tuple[str, str, str]:
    """A new API token: (token, client id, client secret)."""
    response = httpx.post(
        f"{server.url}/admin/v1/tokens",
        json={
            "name": f"spark-{uuid.uuid4().hex[:6]}",
            "permission": permission,
            "warehouses": ["default"],
        },
        headers=server.auth_headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["token"], body["id"], body["token"].split("_", 2)[2]


def oauth2_properties(server: CatalogServer, client_id: str, secret: str) -> dict[str, str]:
    return readme_properties(
        "spark-oauth2",
        {
            "http://127.0.0.1:8181": server.url,
            "<client-id>:<client-secret>": f"{client_id}:{secret}",
        },
    )


def token_properties(server: CatalogServer, token: str) -> dict[str, str]:
    """The README's catalog settings with a token instead of client credentials."""
    return {
        **{
            key: value
            for key, value in oauth2_properties(server, "unused", "unused").items()
            if not key.endswith((".credential", ".oauth2-server-uri"))
        },
        "spark.sql.catalog.icefloe.token": token,
    }


def local_path(location: str) -> Path:
    return Path(urlparse(location).path)


# -- the README block and namespaces -------------------------------------------------------


def test_readme_block_connects_and_namespaces_nest(
    spark: Any, pyiceberg: RestCatalog, ns: str
) -> None:
    # The README block itself ran `CREATE NAMESPACE IF NOT EXISTS icefloe.demo`.
    assert pyiceberg.namespace_exists("demo")
    spark.sql(f"CREATE NAMESPACE icefloe.{ns}.inner")
    spark.sql(f"ALTER NAMESPACE icefloe.{ns} SET PROPERTIES ('team' = 'lake')")
    assert rows(spark, f"SHOW NAMESPACES IN icefloe.{ns}") == [(f"{ns}.inner",)]
    assert pyiceberg.list_namespaces(ns) == [(ns, "inner")]
    assert pyiceberg.load_namespace_properties(ns)["team"] == "lake"

    spark.sql(f"CREATE TABLE icefloe.{ns}.inner.t (id BIGINT) USING iceberg")
    spark.sql(f"INSERT INTO icefloe.{ns}.inner.t VALUES (1), (2)")
    assert rows(spark, f"SELECT id FROM icefloe.{ns}.inner.t ORDER BY id") == [(1,), (2,)]
    with pytest.raises(SparkError, match=r"NamespaceNotEmpty|not empty"):
        spark.sql(f"DROP NAMESPACE icefloe.{ns}.inner")
    spark.sql(f"DROP TABLE icefloe.{ns}.inner.t")
    spark.sql(f"DROP NAMESPACE icefloe.{ns}.inner")
    assert pyiceberg.list_namespaces(ns) == []


# -- writes ------------------------------------------------------------------------------


def test_partitioned_table_insert_merge_update_delete(
    spark: Any, pyiceberg: RestCatalog, ns: str
) -> None:
    table = f"icefloe.{ns}.events"
    spark.sql(
        f"CREATE TABLE {table} (id BIGINT, ts TIMESTAMP, name STRING) USING iceberg "
        "PARTITIONED BY (days(ts), bucket(4, id))"
    )
    spark.sql(
        f"INSERT INTO {table} VALUES (1, TIMESTAMP '2024-01-01 10:00:00', 'a'), "
        "(2, TIMESTAMP '2024-01-02 10:00:00', 'b'), (3, TIMESTAMP '2024-01-02 11:00:00', 'c')"
    )
    spec = pyiceberg.load_table(f"{ns}.events").spec()
    assert [str(field.transform) for field in spec.fields] == ["day", "bucket[4]"]
    assert rows(spark, f"SELECT id FROM {table} WHERE ts >= '2024-01-02' ORDER BY id") == [
        (2,),
        (3,),
    ]

    spark.sql(
        f"MERGE INTO {table} t USING (SELECT 2 AS id, 'bb' AS name UNION ALL "
        "SELECT 4, 'd') s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET t.name = s.name "
        "WHEN NOT MATCHED THEN INSERT (id, ts, name) "
        "VALUES (s.id, TIMESTAMP '2024-01-03 00:00:00', s.name)"
    )
    spark.sql(f"UPDATE {table} SET name = 'z' WHERE id = 1")
    spark.sql(f"DELETE FROM {table} WHERE id = 3")
    expected = [
        (1, "2024-01-01 10:00:00", "z"),
        (2, "2024-01-02 10:00:00", "bb"),
        (4, "2024-01-03 00:00:00", "d"),
    ]
    assert rows(spark, f"SELECT id, CAST(ts AS STRING), name FROM {table} ORDER BY id") == expected
    operations = rows(spark, f"SELECT operation FROM {table}.snapshots ORDER BY committed_at")
    assert operations == [("append",), ("overwrite",), ("overwrite",), ("delete",)]
    # Copy-on-write (the default): no delete files.
    assert rows(spark, f"SELECT DISTINCT content FROM {table}.files") == [(0,)]
    read = pyiceberg.load_table(f"{ns}.events").scan().to_arrow().sort_by("id")
    assert read.column("name").to_pylist() == ["z", "bb", "d"]


def test_merge_on_read_delete_writes_position_deletes(
    spark: Any, pyiceberg: RestCatalog, ns: str
) -> None:
    table = f"icefloe.{ns}.mor"
    spark.sql(
        f"CREATE TABLE {table} (id BIGINT, v STRING) USING iceberg TBLPROPERTIES ("
        "'format-version' = '2', 'write.delete.mode' = 'merge-on-read', "
        "'write.update.mode' = 'merge-on-read', 'write.merge.mode' = 'merge-on-read')"
    )
    spark.sql(f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    spark.sql(f"DELETE FROM {table} WHERE id = 2")
    spark.sql(f"UPDATE {table} SET v = 'cc' WHERE id = 3")
    # content 1 = position deletes: the data file was not rewritten.
    assert rows(spark, f"SELECT DISTINCT content FROM {table}.files ORDER BY content") == [
        (0,),
        (1,),
    ]
    assert rows(spark, f"SELECT id, v FROM {table} ORDER BY id") == [(1, "a"), (3, "cc")]
    read = pyiceberg.load_table(f"{ns}.mor").scan().to_arrow().sort_by("id")
    assert read.to_pylist() == [{"id": 1, "v": "a"}, {"id": 3, "v": "cc"}]


def test_alter_table_schema_partitioning_and_properties(
    spark: Any, pyiceberg: RestCatalog, ns: str
) -> None:
    table = f"icefloe.{ns}.t"
    spark.sql(f"CREATE TABLE {table} (id BIGINT, v STRING) USING iceberg")
    spark.sql(f"INSERT INTO {table} VALUES (1, 'a')")
    spark.sql(f"ALTER TABLE {table} ADD COLUMN extra INT")
    spark.sql(f"ALTER TABLE {table} RENAME COLUMN v TO value")
    spark.sql(f"ALTER TABLE {table} ADD PARTITION FIELD bucket(2, id)")
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('team' = 'lake')")
    spark.sql(f"INSERT INTO {table} VALUES (2, 'b', 7)")

    loaded = pyiceberg.load_table(f"{ns}.t")
    assert [field.name for field in loaded.schema().fields] == ["id", "value", "extra"]
    assert [str(field.transform) for field in loaded.spec().fields] == ["bucket[2]"]
    assert len(loaded.specs()) == 2
    assert loaded.properties["team"] == "lake"
    assert rows(spark, f"SELECT id, value, extra FROM {table} ORDER BY id") == [
        (1, "a", None),
        (2, "b", 7),
    ]


def test_metadata_tables_time_travel_tags_and_rollback(
    spark: Any, pyiceberg: RestCatalog, ns: str
) -> None:
    table = f"icefloe.{ns}.t"
    spark.sql(f"CREATE TABLE {table} (id BIGINT) USING iceberg")
    spark.sql(f"INSERT INTO {table} VALUES (1)")
    spark.sql(f"INSERT INTO {table} VALUES (2)")
    snapshots = rows(
        spark,
        f"SELECT snapshot_id, committed_at, parent_id FROM {table}.snapshots ORDER BY committed_at",
    )
    assert len(snapshots) == 2
    first, second = snapshots
    assert second[2] == first[0]
    history = rows(spark, f"SELECT snapshot_id, is_current_ancestor FROM {table}.history")
    assert sorted(history) == sorted([(first[0], True), (second[0], True)])
    assert len(rows(spark, f"SELECT file_path FROM {table}.files")) == 2

    assert rows(spark, f"SELECT id FROM {table} VERSION AS OF {first[0]}") == [(1,)]
    as_of = first[1].isoformat(sep=" ")
    assert rows(spark, f"SELECT id FROM {table} TIMESTAMP AS OF '{as_of}'") == [(1,)]
    assert rows(spark, f"SELECT id FROM {table} ORDER BY id") == [(1,), (2,)]

    spark.sql(f"ALTER TABLE {table} CREATE TAG first AS OF VERSION {first[0]}")
    assert rows(spark, f"SELECT id FROM {table} VERSION AS OF 'first'") == [(1,)]
    spark.sql(f"CALL icefloe.system.rollback_to_snapshot('{ns}.t', {first[0]})")
    spark.sql(f"REFRESH TABLE {table}")
    assert rows(spark, f"SELECT id FROM {table}") == [(1,)]
    refs = pyiceberg.load_table(f"{ns}.t").metadata.refs
    assert refs["main"].snapshot_id == first[0]
    assert refs["first"].snapshot_ref_type == "tag"


def test_views_are_created_read_and_dropped(spark: Any, server: CatalogServer, ns: str) -> None:
    spark.sql(f"CREATE TABLE icefloe.{ns}.t (id BIGINT, v STRING) USING iceberg")
    spark.sql(f"INSERT INTO icefloe.{ns}.t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    spark.sql(
        f"CREATE VIEW icefloe.{ns}.small COMMENT 'ids below 3' AS "
        f"SELECT id, v FROM icefloe.{ns}.t WHERE id < 3"
    )
    assert rows(spark, f"SELECT * FROM icefloe.{ns}.small ORDER BY id") == [(1, "a"), (2, "b")]
    assert [row[1] for row in rows(spark, f"SHOW VIEWS IN icefloe.{ns}")] == ["small"]

    view_url = f"{server.url}/v1/default/namespaces/{ns}/views/small"
    stored = httpx.get(view_url, headers=server.auth_headers)
    assert stored.status_code == 200
    version = stored.json()["metadata"]["versions"][0]
    assert version["representations"][0]["dialect"] == "spark"

    spark.sql(f"DROP VIEW icefloe.{ns}.small")
    assert httpx.get(view_url, headers=server.auth_headers).status_code == 404
    assert rows(spark, f"SHOW VIEWS IN icefloe.{ns}") == []


def test_rename_drop_and_drop_purge(spark: Any, pyiceberg: RestCatalog, ns: str) -> None:
    spark.sql(f"CREATE TABLE icefloe.{ns}.a (id BIGINT) USING iceberg")
    spark.sql(f"INSERT INTO icefloe.{ns}.a VALUES (1)")
    spark.sql(f"ALTER TABLE icefloe.{ns}.a RENAME TO {ns}.b")
    assert rows(spark, f"SHOW TABLES IN icefloe.{ns}") == [(ns, "b", False)]
    assert rows(spark, f"SELECT id FROM icefloe.{ns}.b") == [(1,)]

    kept = local_path(pyiceberg.load_table(f"{ns}.b").location())
    spark.sql(f"DROP TABLE icefloe.{ns}.b")
    assert not pyiceberg.table_exists(f"{ns}.b")
    assert list(kept.rglob("*.parquet")), "DROP TABLE without PURGE keeps the data files"

    spark.sql(f"CREATE TABLE icefloe.{ns}.c (id BIGINT) USING iceberg")
    spark.sql(f"INSERT INTO icefloe.{ns}.c VALUES (1)")
    purged = local_path(pyiceberg.load_table(f"{ns}.c").location())
    assert list(purged.rglob("*.parquet"))
    # Spark 3.5 / Iceberg 1.9 drops without purgeRequested, then deletes the files itself.
    spark.sql(f"DROP TABLE icefloe.{ns}.c PURGE")
    assert not pyiceberg.table_exists(f"{ns}.c")
    assert not list(purged.rglob("*.parquet")), "DROP TABLE … PURGE deletes the data files"


# -- authentication ------------------------------------------------------------------------


def test_oauth2_client_credentials_from_the_readme(
    spark: Any, server: CatalogServer, ns: str
) -> None:
    _, client_id, secret = create_token(server, "read-write")
    add_catalog(spark, "oauth", oauth2_properties(server, client_id, secret))
    spark.sql(f"CREATE TABLE oauth.{ns}.t (id BIGINT) USING iceberg")
    spark.sql(f"INSERT INTO oauth.{ns}.t VALUES (1)")
    assert rows(spark, f"SELECT id FROM oauth.{ns}.t") == [(1,)]

    add_catalog(spark, "wrong", oauth2_properties(server, client_id, "not-the-secret"))
    with pytest.raises(SparkError, match="invalid_client"):
        spark.sql(f"SHOW TABLES IN wrong.{ns}").collect()


def test_read_only_token_reads_and_writes_get_forbidden(
    spark: Any, server: CatalogServer, ns: str
) -> None:
    spark.sql(f"CREATE TABLE icefloe.{ns}.t (id BIGINT) USING iceberg")
    spark.sql(f"INSERT INTO icefloe.{ns}.t VALUES (1)")
    token, _, _ = create_token(server, "read-only")
    add_catalog(spark, "ro", token_properties(server, token))
    assert rows(spark, f"SELECT id FROM ro.{ns}.t") == [(1,)]
    for write in (
        f"INSERT INTO ro.{ns}.t VALUES (2)",
        f"CREATE TABLE ro.{ns}.other (id BIGINT) USING iceberg",
        f"DROP TABLE ro.{ns}.t",
    ):
        with pytest.raises(SparkError, match=r"ForbiddenException: Forbidden: Permission \w+"):
            spark.sql(write).collect()
    assert rows(spark, f"SELECT id FROM icefloe.{ns}.t") == [(1,)]


def test_vended_credentials_header_on_a_file_warehouse(
    spark: Any, server: CatalogServer, ns: str
) -> None:
    """A file:// warehouse vends nothing and does not ask for it; a client that asks anyway
    (as the S3/R2 configuration does) still reads and writes, with no credentials sent."""
    config = httpx.get(f"{server.url}/v1/config?warehouse=default", headers=server.auth_headers)
    assert config.json()["defaults"] == {}
    token, _, _ = create_token(server, "read-write")
    add_catalog(
        spark,
        "vended",
        {
            **token_properties(server, token),
            "spark.sql.catalog.icefloe.header.X-Iceberg-Access-Delegation": "vended-credentials",
        },
    )
    spark.sql(f"CREATE TABLE vended.{ns}.t (id BIGINT) USING iceberg")
    spark.sql(f"INSERT INTO vended.{ns}.t VALUES (1), (2)")
    assert rows(spark, f"SELECT id FROM vended.{ns}.t ORDER BY id") == [(1,), (2,)]
    loaded = httpx.get(
        f"{server.url}/v1/default/namespaces/{ns}/tables/t",
        headers={**server.auth_headers, "X-Iceberg-Access-Delegation": "vended-credentials"},
    ).json()
    assert loaded.get("storage-credentials", []) == []


# -- across engines --------------------------------------------------------------------------


def test_spark_table_read_by_pyiceberg_and_duckdb_and_back(
    spark: Any, server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    table = f"icefloe.{ns}.orders"
    spark.sql(
        f"CREATE TABLE {table} (id BIGINT, city STRING, amount DOUBLE, day DATE) USING iceberg "
        "PARTITIONED BY (city) TBLPROPERTIES ('write.delete.mode' = 'merge-on-read')"
    )
    spark.sql(
        f"INSERT INTO {table} VALUES (1, 'Oslo', 12.5, DATE '2024-05-01'), "
        "(2, 'Lima', 3.0, DATE '2024-05-02'), (3, 'Oslo', 7.25, DATE '2024-05-02')"
    )
    spark.sql(f"DELETE FROM {table} WHERE id = 2")  # a position delete file
    query = f"SELECT id, city, amount, day FROM {table} ORDER BY id"
    from_spark = rows(spark, query)
    assert [row[0] for row in from_spark] == [1, 3]

    from_pyiceberg = pyiceberg.load_table(f"{ns}.orders").scan().to_arrow().sort_by("id")
    assert [tuple(row.values()) for row in from_pyiceberg.to_pylist()] == from_spark

    duck = duckdb_iceberg.connect()
    duck.execute(f"CREATE SECRET icefloe (TYPE ICEBERG, TOKEN '{server.token}')")
    duck.execute(
        f"ATTACH 'default' AS lake (TYPE ICEBERG, ENDPOINT '{server.url}', SECRET icefloe)"
    )
    from_duckdb = duck.execute(f"SELECT id, city, amount, day FROM lake.{ns}.orders ORDER BY id")
    assert from_duckdb.fetchall() == from_spark

    pyiceberg.load_table(f"{ns}.orders").append(
        pa.table(
            {
                "id": pa.array([4], pa.int64()),
                "city": ["Pune"],
                "amount": [1.5],
                "day": pa.array([from_spark[0][3]], pa.date32()),
            }
        )
    )
    spark.sql(f"REFRESH TABLE {table}")  # Spark caches loaded tables (cache-enabled)
    assert [row[0] for row in rows(spark, query)] == [1, 3, 4]


def test_pyiceberg_table_appended_by_spark(spark: Any, pyiceberg: RestCatalog, ns: str) -> None:
    rows_in = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"]})
    pyiceberg.create_table(f"{ns}.people", schema=rows_in.schema).append(rows_in)
    assert rows(spark, f"SELECT id, name FROM icefloe.{ns}.people ORDER BY id") == [
        (1, "a"),
        (2, "b"),
    ]
    spark.sql(f"INSERT INTO icefloe.{ns}.people VALUES (3, 'c')")
    spark.sql(f"UPDATE icefloe.{ns}.people SET name = 'bb' WHERE id = 2")
    read = pyiceberg.load_table(f"{ns}.people").scan().to_arrow().sort_by("id")
    assert read.to_pylist() == [
        {"id": 1, "name": "a"},
        {"id": 2, "name": "bb"},
        {"id": 3, "name": "c"},
    ]
