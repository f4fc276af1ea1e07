"""The engine on the embedded S3 store: position deletes written by DuckDB are applied by
compaction, then expiration and orphan removal clean the bucket; DuckDB and PyIceberg read
the result."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import duckdb
import pytest
from pyiceberg.catalog.rest import RestCatalog

from catalog.maintenance.engine import run_job
from catalog.maintenance.jobs import JobKind, MaintenancePolicy, TableRef
from catalog.service.context import ServiceContext
from tests.maintenance.conftest import engine_context, rest_catalog
from tests.maintenance.test_compaction import SCHEMA, SMALL, batch
from tests.maintenance.test_expiration_orphans import needed_by
from tests.support import duckdb_iceberg
from tests.support.server import CatalogServer


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    server = CatalogServer(tmp_path_factory.mktemp("maintenance-s3"), storage="embedded")
    server.start()
    yield server
    server.stop()


def bucket_client(server: CatalogServer) -> Any:
    keys = json.loads((server.data_dir / "objects" / "root-credentials.json").read_text())
    return boto3.client(
        "s3",
        endpoint_url=server.s3_url,
        aws_access_key_id=keys["access_key_id"],
        aws_secret_access_key=keys["secret_access_key"],
        region_name="auto",
    )


def objects(client: Any, location: str) -> set[str]:
    parts = urlsplit(location)
    listed = client.list_objects_v2(Bucket=parts.netloc, Prefix=parts.path.lstrip("/") + "/")
    # Keys ending in "/" are the empty directory markers pyarrow's S3 filesystem leaves
    # behind when it deletes the last file of a "directory": not files of the table.
    return {
        f"s3://{parts.netloc}/{item['Key']}"
        for item in listed.get("Contents", [])
        if not item["Key"].endswith("/")
    }


def duckdb_lake(server: CatalogServer) -> duckdb.DuckDBPyConnection:
    connection = duckdb_iceberg.connect()
    connection.execute(f"CREATE SECRET icefloe (TYPE ICEBERG, TOKEN '{server.token}')")
    connection.execute(
        f"ATTACH 'default' AS lake (TYPE ICEBERG, ENDPOINT '{server.url}', SECRET icefloe)"
    )
    return connection


def duckdb_ids(server: CatalogServer, identifier: str) -> list[int]:
    query = f"SELECT id FROM lake.{identifier} ORDER BY id"
    return [row[0] for row in duckdb_lake(server).execute(query).fetchall()]


def test_compaction_applies_position_deletes_then_expiry_and_orphans_clean_the_bucket(
    s3_server: CatalogServer,
) -> None:
    catalog: RestCatalog = rest_catalog(s3_server)
    namespace = f"ns_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(namespace)
    identifier = f"{namespace}.t"
    table = catalog.create_table(identifier, schema=batch(0, 1).schema)
    for start in range(0, 60, 10):
        table.append(batch(start, 10))
    duckdb_lake(s3_server).execute(f"DELETE FROM lake.{identifier} WHERE id % 3 = 0")
    table = catalog.load_table(identifier)
    assert any(task.delete_files for task in table.scan().plan_files()), "DuckDB wrote deletes"
    expected_ids = [i for i in range(60) if i % 3]
    context: ServiceContext = engine_context(s3_server)
    ref = TableRef("default", (namespace,), "t")
    try:
        compacted = run_job(context, ref, JobKind.COMPACT, SMALL)
        table = catalog.load_table(identifier)
        tasks = list(table.scan().plan_files())
        assert compacted.files_before == 6 and compacted.files_after == 1 == len(tasks)
        assert not tasks[0].delete_files  # the deletes were applied while rewriting
        assert sorted(table.scan().to_arrow().column("id").to_pylist()) == expected_ids
        assert duckdb_ids(s3_server, identifier) == expected_ids

        s3 = bucket_client(s3_server)
        stray = f"{table.location()}/data/stray-{uuid.uuid4().hex}.parquet"
        parts = urlsplit(stray)
        s3.put_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"), Body=b"not referenced")
        later = datetime.now(UTC) + timedelta(days=3)
        before = objects(s3, table.location())
        expired = run_job(
            context,
            ref,
            JobKind.EXPIRE,
            MaintenancePolicy(expire_older_than=timedelta(0), retain_last=1),
            now=later,
        )
        table = catalog.load_table(identifier)
        assert len(table.metadata.snapshots) == 1
        assert expired.snapshots_expired == 7 and expired.files_deleted > 0
        assert before - objects(s3, table.location()) == set(expired.details["deleted"])
        removed = run_job(context, ref, JobKind.ORPHANS, MaintenancePolicy(), now=later)
        assert stray in removed.details["deleted"]
        left = objects(s3, table.location())
        assert stray not in left
        # What is left is exactly what the table refers to.
        referenced = {table.metadata_location} | {
            e.metadata_file for e in table.metadata.metadata_log
        }
        for snapshot in table.metadata.snapshots:
            referenced |= needed_by(table, snapshot.snapshot_id)
        assert left == referenced
        assert sorted(table.scan().to_arrow().column("id").to_pylist()) == expected_ids
        assert duckdb_ids(s3_server, identifier) == expected_ids
    finally:
        context.store.engine.dispose()  # type: ignore[attr-defined]


def test_maintain_on_the_command_line_finds_the_store_where_serve_runs_it(
    s3_server: CatalogServer,
) -> None:
    """`icefloe maintain` beside a server started with `--s3-port` (any port but 9000) reaches
    the embedded store there: `serve` records where it serves it in the data directory."""
    catalog = rest_catalog(s3_server)
    namespace = f"cli_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(namespace)
    table = catalog.create_table(f"{namespace}.t", schema=SCHEMA)
    for start in range(0, 40, 10):
        table.append(batch(start, 10))
    assert s3_server.s3_port != 9000
    command = ["maintain", f"{namespace}.t", "--compact", "--data-dir", str(s3_server.data_dir)]
    done = subprocess.run(
        [sys.executable, "-m", "catalog", *command],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    compacted = catalog.load_table(f"{namespace}.t")
    assert compacted.current_snapshot().summary.operation.value == "replace"
    assert sorted(compacted.scan().to_arrow()["id"].to_pylist()) == list(range(40))
