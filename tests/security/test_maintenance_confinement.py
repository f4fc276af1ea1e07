"""Maintenance acts only inside the table's location (issue 13, finding 1, rule b).

The attacker owns one table and makes its metadata name another table's files: a snapshot
whose manifest list is the victim's, a statistics file or a delete file that is the victim's
data file. The commit-time check refuses that over HTTP, so the tests write it the way it could
still be there (an old commit, a registered old file, an edited database): straight into the
attacker's row in `catalog_objects`. Then expiration, compaction and orphan removal run (admin
API, the scheduler, the engine in-process): the victim's files all still exist, the victim reads
the same rows, the run record lists the foreign files as skipped, and no file in the attacker's
location holds the victim's rows.
"""

from __future__ import annotations

import io
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.table import Table

from catalog.embedded_store import EmbeddedStore
from catalog.maintenance.control import MaintenanceService
from catalog.maintenance.engine import context_from_settings
from catalog.maintenance.jobs import DELETES_OUTSIDE, OUTSIDE_LOCATION, JobKind, TableRef
from catalog.maintenance.scheduler import Scheduler
from catalog.maintenance.service_catalog import ServiceCatalog
from catalog.maintenance.table_io import OutsideLocation, table_storage
from catalog.service.context import ServiceContext
from catalog.settings import Settings
from catalog.store.models import CatalogObject
from storage.confined import within
from tests.maintenance.control_support import admin, table_path
from tests.support.forged_manifests import manifest_list_with_delete_file
from tests.support.governance import purge_through_trash
from tests.support.server import CatalogServer
from tests.support.vended import denied, s3_client

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])
EXPIRE_AT_ONCE = {
    "icefloe.maintenance.expiration.older-than-days": "1",
    "icefloe.maintenance.expiration.retain-last": "1",
}
DAY_MS = 24 * 3600 * 1000


@pytest.fixture(scope="module")
def folder_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    server = CatalogServer(tmp_path_factory.mktemp("confinement-folder"), storage="file")
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["folder", "embedded"])
def server(request: pytest.FixtureRequest) -> CatalogServer:
    name = "folder_server" if request.param == "folder" else "embedded_server"
    found: CatalogServer = request.getfixturevalue(name)
    return found


def settings_of(server: CatalogServer) -> Settings:
    return Settings(
        data_dir=server.data_dir, database_url=server.database_url, s3_port=server.s3_port
    )


@pytest.fixture
def context(server: CatalogServer) -> Iterator[ServiceContext]:
    context = context_from_settings(settings_of(server))
    yield context
    context.store.engine.dispose()  # type: ignore[attr-defined]


def lake(server: CatalogServer) -> RestCatalog:
    return RestCatalog("icefloe", uri=server.url, warehouse="default", token=server.token)


# The two tables ---------------------------------------------------------------------------
def new_table(catalog: RestCatalog, role: str, first_id: int, appends: int) -> Table:
    namespace = f"{role}_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(namespace)
    table = catalog.create_table(f"{namespace}.t", schema=SCHEMA)
    for index in range(first_id, first_id + appends):
        table.append(pa.table({"id": [index], "name": [f"{role} {index}"]}, schema=SCHEMA))
    return catalog.load_table(table.name())


def victim_and_attacker(server: CatalogServer) -> tuple[Table, Table]:
    """The victim: 3 small files of rows 1000-1002; the attacker: 3 of rows 0-2."""
    catalog = lake(server)
    return new_table(catalog, "victim", 1000, 3), new_table(catalog, "attacker", 0, 3)


def files_of(table: Table) -> list[str]:
    """Every file the table refers to: metadata, manifest lists, manifests, data files."""
    found = {table.metadata_location}
    for snapshot in table.metadata.snapshots:
        found.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            found.add(manifest.manifest_path)
            found |= {e.data_file.file_path for e in manifest.fetch_manifest_entry(table.io)}
    return sorted(found)


def data_files_of(table: Table) -> list[str]:
    return sorted(task.file.file_path for task in table.scan().plan_files())


def rows(table: Table) -> list[dict[str, Any]]:
    return sorted(table.scan().to_arrow().to_pylist(), key=lambda row: row["id"])


def assert_victim_intact(server: CatalogServer, victim: Table, files: list[str]) -> None:
    missing = [path for path in files if not victim.io.new_input(path).exists()]
    assert missing == [], f"the victim's files were deleted: {missing}"
    reloaded = lake(server).load_table(victim.name())
    assert rows(reloaded) == [{"id": i, "name": f"victim {i}"} for i in range(1000, 1003)]


def parquet_under(table: Table) -> list[pa.Table]:
    """Every Parquet file under the table's location, read with the admin's credentials."""
    location = table.location().rstrip("/")
    if location.startswith("file://"):
        return [pq.read_table(p) for p in Path(location.removeprefix("file://")).rglob("*.parquet")]
    client = s3_client(table.io.properties)
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("Contents", [])
    return [
        pq.read_table(io.BytesIO(client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()))
        for o in listed
        if o["Key"].endswith(".parquet")
    ]


def assert_no_victim_rows_in(attacker: Table) -> None:
    ids = {i for data in parquet_under(attacker) for i in data.column("id").to_pylist()}
    assert not ids & set(range(1000, 1003)), "the victim's rows were written into the attacker's"


# The attacker's edit, made in the database -----------------------------------------------
def forge(server: CatalogServer, table: Table, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit the table's current metadata with `edit`, write it as a new metadata file in the
    table's location, and point the table's row at it: what commit-time checks cannot stop."""
    engine = sa.create_engine(settings_of(server).resolved_database_url)
    try:
        with engine.begin() as connection:
            row = connection.execute(
                sa.select(CatalogObject.id, CatalogObject.metadata_json, CatalogObject.version)
                .where(CatalogObject.location == table.location().rstrip("/"))
                .where(CatalogObject.kind == "table")
            ).one()
            document: dict[str, Any] = orjson.loads(row.metadata_json)
            edit(document)
            text = orjson.dumps(document)
            location = (
                f"{table.location().rstrip('/')}/metadata/forged-{uuid.uuid4()}.metadata.json"
            )
            with table.io.new_output(location).create() as stream:
                stream.write(text)
            connection.execute(
                sa.update(CatalogObject)
                .where(CatalogObject.id == row.id)
                .values(
                    metadata_location=location,
                    metadata_json=text.decode(),
                    version=row.version + 1,
                )
            )
    finally:
        engine.dispose()


def add_snapshot(
    document: dict[str, Any],
    manifest_list: str,
    *,
    current: bool = False,
    age_days: int = 30,
    snapshot_id: int | None = None,
) -> int:
    """A snapshot `age_days` old with this manifest list; the head of main when `current`."""
    snapshot_id = snapshot_id or random.randrange(1, 2**62)
    sequence = document["last-sequence-number"] + 1
    timestamp = int(time.time() * 1000) - age_days * DAY_MS
    snapshot: dict[str, Any] = {
        "snapshot-id": snapshot_id,
        "sequence-number": sequence,
        "timestamp-ms": timestamp,
        "manifest-list": manifest_list,
        "summary": {"operation": "append"},
        "schema-id": document["current-schema-id"],
    }
    if current:
        snapshot["parent-snapshot-id"] = document["current-snapshot-id"]
        document["current-snapshot-id"] = snapshot_id
        document["refs"]["main"] = {"snapshot-id": snapshot_id, "type": "branch"}
        document["snapshot-log"].append({"snapshot-id": snapshot_id, "timestamp-ms": timestamp})
    document["snapshots"].append(snapshot)
    document["last-sequence-number"] = sequence
    document["properties"].update(EXPIRE_AT_ONCE)
    return snapshot_id


def set_row_location(server: CatalogServer, table: Table, location: str) -> None:
    """The location column of the table's row, as a database edit would leave it."""
    engine = sa.create_engine(settings_of(server).resolved_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.update(CatalogObject)
                .where(CatalogObject.location == table.location().rstrip("/"))
                .where(CatalogObject.kind == "table")
                .values(location=location)
            )
    finally:
        engine.dispose()


# Running jobs -----------------------------------------------------------------------------
def run(server: CatalogServer, table: Table, kind: str) -> dict[str, Any]:
    with admin(server) as http:
        response = http.post(table_path(table) + "/maintenance/runs", json={"kind": kind})
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()
    assert record["outcome"] == "succeeded", record
    return record


def skipped(record: dict[str, Any]) -> dict[str, str]:
    return {entry["path"]: entry["reason"] for entry in record.get("skipped-files", [])}


# The tests --------------------------------------------------------------------------------
def test_expiring_a_snapshot_with_a_foreign_manifest_list_deletes_none_of_the_victims_files(
    server: CatalogServer,
) -> None:
    victim, attacker = victim_and_attacker(server)
    victim_files = files_of(victim)
    stolen = victim.metadata.snapshots[-1].manifest_list
    forge(server, attacker, lambda document: add_snapshot(document, stolen))

    record = run(server, attacker, "expire")

    assert_victim_intact(server, victim, victim_files)
    assert record["snapshots-expired"] == 1
    assert skipped(record) == {stolen: OUTSIDE_LOCATION}
    assert record["files-skipped"] == 1
    assert not [p for p in record["details"]["deleted"] if p in victim_files]
    assert rows(lake(server).load_table(attacker.name())) == rows(attacker)


def test_compacting_a_table_whose_head_is_a_foreign_manifest_list_reads_none_of_it(
    server: CatalogServer,
) -> None:
    victim, attacker = victim_and_attacker(server)
    victim_files = files_of(victim)
    stolen = victim.metadata.snapshots[-1].manifest_list
    forge(server, attacker, lambda document: add_snapshot(document, stolen, current=True))

    record = run(server, attacker, "compact")

    assert_no_victim_rows_in(attacker)
    assert_victim_intact(server, victim, victim_files)
    assert skipped(record) == {stolen: OUTSIDE_LOCATION}
    assert record["details"]["committed-snapshot-id"] is None


def test_compaction_leaves_foreign_data_files_out_of_its_plan_and_never_deletes_them(
    folder_server: CatalogServer,
) -> None:
    """Imported files outside the location (allowed by Iceberg) are not rewritten, and after
    expiration and orphan removal they are still there."""
    victim, attacker = victim_and_attacker(folder_server)
    victim_files = files_of(victim)
    foreign = data_files_of(victim)
    attacker.add_files(foreign)
    forge(folder_server, attacker, lambda document: document["properties"].update(EXPIRE_AT_ONCE))

    compacted = run(folder_server, attacker, "compact")
    assert_no_victim_rows_in(attacker)
    assert skipped(compacted) == dict.fromkeys(foreign, OUTSIDE_LOCATION)
    assert compacted["details"]["committed-snapshot-id"] is not None  # its own 3 files
    reloaded = lake(folder_server).load_table(attacker.name())
    assert set(foreign) <= set(data_files_of(reloaded))
    assert sorted(r["id"] for r in rows(reloaded)) == [0, 1, 2, 1000, 1001, 1002]

    forge(folder_server, reloaded, lambda document: _age_all_but_head(document))
    expired = run(folder_server, reloaded, "expire")
    assert expired["snapshots-expired"] >= 1
    run(folder_server, reloaded, "orphans")
    assert_victim_intact(folder_server, victim, victim_files)


def _age_all_but_head(document: dict[str, Any]) -> None:
    for snapshot in document["snapshots"]:
        if snapshot["snapshot-id"] != document["current-snapshot-id"]:
            snapshot["timestamp-ms"] -= 30 * DAY_MS


def test_a_foreign_statistics_file_of_an_expired_snapshot_is_skipped_not_deleted(
    server: CatalogServer,
) -> None:
    victim, attacker = victim_and_attacker(server)
    victim_files = files_of(victim)
    table_stats, partition_stats = data_files_of(victim)[:2]
    own = attacker.metadata.snapshots[-1].manifest_list

    def edit(document: dict[str, Any]) -> None:
        expired = add_snapshot(document, own)
        document["statistics"] = [
            {
                "snapshot-id": expired,
                "statistics-path": table_stats,
                "file-size-in-bytes": 100,
                "file-footer-size-in-bytes": 10,
                "blob-metadata": [],
            }
        ]
        document["partition-statistics"] = [
            {"snapshot-id": expired, "statistics-path": partition_stats, "file-size-in-bytes": 100}
        ]

    forge(server, attacker, edit)
    record = run(server, attacker, "expire")

    assert_victim_intact(server, victim, victim_files)
    assert record["snapshots-expired"] == 1
    # Removing the snapshot removes its statistics (so that file is unreachable and would be
    # deleted); its partition statistics stay in the metadata (still referenced, not deleted).
    assert skipped(record)[table_stats] == OUTSIDE_LOCATION
    assert set(skipped(record)) <= {table_stats, partition_stats}


def test_a_foreign_delete_file_is_never_read_by_compaction_nor_deleted_by_expiration(
    server: CatalogServer,
) -> None:
    victim, attacker = victim_and_attacker(server)
    victim_files = files_of(victim)
    foreign = data_files_of(victim)[0]
    own_files = data_files_of(attacker)
    head = attacker.metadata.current_snapshot_id
    snapshot_id = random.randrange(1, 2**62)
    forged_list = manifest_list_with_delete_file(attacker, snapshot_id, foreign)
    forge(
        server,
        attacker,
        lambda document: add_snapshot(document, forged_list, current=True, snapshot_id=snapshot_id),
    )

    compacted = run(server, attacker, "compact")
    assert_no_victim_rows_in(attacker)
    assert skipped(compacted) == {
        foreign: OUTSIDE_LOCATION,
        **dict.fromkeys(own_files, DELETES_OUTSIDE),
    }
    assert compacted["details"]["committed-snapshot-id"] is None

    def back_to_head(document: dict[str, Any]) -> None:
        document["current-snapshot-id"] = head
        document["refs"]["main"] = {"snapshot-id": head, "type": "branch"}

    forge(server, attacker, back_to_head)
    expired = run(server, attacker, "expire")
    assert_victim_intact(server, victim, victim_files)
    assert expired["snapshots-expired"] == 1
    assert skipped(expired) == {foreign: OUTSIDE_LOCATION}
    assert forged_list in expired["details"]["deleted"]  # its own files do go


def test_orphan_removal_reads_no_foreign_manifest_list_and_deletes_nothing_it_cannot_judge(
    server: CatalogServer,
) -> None:
    victim, attacker = victim_and_attacker(server)
    victim_files = files_of(victim)
    stolen = victim.metadata.snapshots[-1].manifest_list
    forge(server, attacker, lambda document: add_snapshot(document, stolen, current=True))

    record = run(server, attacker, "orphans")

    assert_victim_intact(server, victim, victim_files)
    assert skipped(record) == {stolen: OUTSIDE_LOCATION}
    assert record["files-deleted"] == 0


def test_the_scheduler_expires_a_forged_snapshot_without_touching_the_victim(
    folder_server: CatalogServer,
) -> None:
    """No admin action: the scheduler's own round finds the forged snapshot due."""
    victim, attacker = victim_and_attacker(folder_server)
    victim_files = files_of(victim)
    stolen = victim.metadata.snapshots[-1].manifest_list
    forge(folder_server, attacker, lambda document: add_snapshot(document, stolen))

    context = context_from_settings(settings_of(folder_server))
    try:
        service = MaintenanceService(context)
        runs = Scheduler(service, timedelta(hours=1)).tick()
    finally:
        context.store.engine.dispose()  # type: ignore[attr-defined]

    attacker_ref = (*attacker.name()[:-1],)
    expired = [r for r in runs if r.kind == JobKind.EXPIRE.value and r.namespace == attacker_ref]
    assert_victim_intact(folder_server, victim, victim_files)
    assert len(expired) == 1 and expired[0].outcome == "succeeded", expired
    assert expired[0].details["skipped-files"] == [{"path": stolen, "reason": OUTSIDE_LOCATION}]


def test_on_the_embedded_store_maintenance_uses_credentials_vended_for_the_table(
    embedded_server: CatalogServer,
) -> None:
    """The confined IO's keys are vended for the table's prefix, not the store's root keys:
    even past the catalog's own check, the store refuses the victim's files to them."""
    victim, attacker = victim_and_attacker(embedded_server)
    context = context_from_settings(settings_of(embedded_server))
    try:
        ref = TableRef("default", tuple(attacker.name()[:-1]), attacker.name()[-1])
        table = ServiceCatalog(context, ref.warehouse).load_table((*ref.namespace, ref.name))
        files = table_storage(table)
        credential = files.credential()
        assert files.vended and credential is not None
        root = EmbeddedStore.from_settings(settings_of(embedded_server)).root
        config = credential.config
        assert config["s3.access-key-id"] != root.access_key_id
        assert config["s3.session-token"]

        target = victim.metadata_location
        with pytest.raises(OutsideLocation):
            table.io.new_input(target).open()
        with pytest.raises(OutsideLocation):
            files.store.delete(target)
        # Past the check, with the very credentials the IO holds: the store refuses.
        bucket, _, key = target.removeprefix("s3://").partition("/")
        client = s3_client(config)
        assert denied(lambda: client.get_object(Bucket=bucket, Key=key))
        assert denied(lambda: client.delete_object(Bucket=bucket, Key=key))
        own = attacker.metadata_location.removeprefix("s3://").partition("/")[2]
        assert client.get_object(Bucket=bucket, Key=own)["Body"].read()
    finally:
        context.store.engine.dispose()  # type: ignore[attr-defined]
    assert victim.io.new_input(victim.metadata_location).exists()


def test_purge_deletes_only_under_the_tables_own_location(folder_server: CatalogServer) -> None:
    """Imported files elsewhere stay, and a location that climbs out with `..` (a database
    edit) purges nothing rather than the folder it climbs into."""
    victim, attacker = victim_and_attacker(folder_server)
    victim_files = files_of(victim)
    attacker.add_files(data_files_of(victim))
    purge_through_trash(folder_server, attacker.name())
    assert_victim_intact(folder_server, victim, victim_files)

    _, climber = victim_and_attacker(folder_server)
    victim_folder = victim.location().rstrip("/").rsplit("/", 2)
    climbing = f"{climber.location().rstrip('/')}/../../{victim_folder[-2]}/{victim_folder[-1]}"
    set_row_location(folder_server, climber, climbing)
    purge_through_trash(folder_server, climber.name())
    assert_victim_intact(folder_server, victim, victim_files)


def test_purge_on_the_embedded_store_deletes_the_table_with_its_own_vended_credentials(
    embedded_server: CatalogServer,
) -> None:
    victim, attacker = victim_and_attacker(embedded_server)
    victim_files, attacker_files = files_of(victim), files_of(attacker)
    purge_through_trash(embedded_server, attacker.name())
    assert [p for p in attacker_files if attacker.io.new_input(p).exists()] == []
    assert_victim_intact(embedded_server, victim, victim_files)


ROOT = "s3://bucket/ns/t"


@pytest.mark.parametrize(
    ("location", "inside"),
    [
        ("s3://bucket/ns/t/data/a.parquet", True),
        ("s3a://bucket/ns/t/metadata/m.avro", True),
        ("s3://bucket/ns/t", False),  # the location itself is no file of it
        ("s3://bucket/ns/t2/data/a.parquet", False),
        ("s3://other/ns/t/data/a.parquet", False),
        ("s3://bucket/ns/t/../victim/data/a.parquet", False),
        ("s3://bucket/ns/t/%2E%2E/victim/a.parquet", False),
        ("s3://bucket/ns/t/data/a.parquet?x=1", False),
        ("/ns/t/data/a.parquet", False),
        ("file://bucket/ns/t/data/a.parquet", False),
    ],
)
def test_a_path_is_inside_a_location_only_in_every_readers_spelling(
    location: str, inside: bool
) -> None:
    assert within(location, ROOT) is inside


def test_a_file_uri_with_a_host_is_outside_a_folder_location() -> None:
    """pyarrow reads `file://host/x` as the relative path `host/x`."""
    assert within("file:///wh/ns/t/data/a.parquet", "file:///wh/ns/t")
    assert within("file:/wh/ns/t/data/a.parquet", "file:///wh/ns/t")
    assert not within("file://wh/ns/t/data/a.parquet", "file:///wh/ns/t")
