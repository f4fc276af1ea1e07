"""Containment at the door: a writer may name only its own table's files in metadata.

The attacker holds a token that may write only in its own namespace. It owns a table there
(with vended credentials for that table's location) and tries to make the catalog's metadata
point at another table's files, which maintenance would later read and delete with the
store's root keys: a foreign manifest list, statistics file, partition-statistics file, a
delete file inside a manifest of its own, a manifest list elsewhere in the warehouse, a
registered metadata file that points outside. Each is refused with 400 naming the field, the
attacker's table stays byte for byte as it was, and the victim still reads the same rows.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import BadRequestError
from pyiceberg.manifest import (
    ManifestContent,
    ManifestFile,
)
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation, Snapshot, Summary
from pyiceberg.table.update import AddSnapshotUpdate, SetSnapshotRefUpdate

from tests.support.engines import local_replacements, run_sql
from tests.support.error_model import assert_error
from tests.support.forged_manifests import manifest_list_with_delete_file, write_manifest_list_of
from tests.support.server import CatalogServer
from tests.support.vended import s3_client

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
VENDED = {"X-Iceberg-Access-Delegation": "vended-credentials"}


@dataclass(frozen=True)
class Scene:
    """A victim table with real rows in one namespace, and an attacker narrowed to another."""

    server: CatalogServer
    admin: RestCatalog
    attacker: RestCatalog
    http: httpx.Client  # as the attacker
    token: str  # the attacker's
    attacker_ns: str
    victim: str  # "ns.name"

    def victim_table(self) -> Table:
        return self.admin.load_table(self.victim)

    def victim_rows(self) -> list[dict[str, Any]]:
        rows = self.victim_table().scan().to_arrow().to_pylist()
        return sorted(rows, key=lambda row: row["id"])


def narrowed_token(server: CatalogServer, namespace: str) -> str:
    response = httpx.post(
        f"{server.url}/admin/v1/tokens",
        json={
            "name": f"writer-{namespace}",
            "permission": "read-write",
            "warehouses": ["default"],
            "namespaces": [[namespace]],
        },
        headers=server.auth_headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def rest(server: CatalogServer, token: str) -> RestCatalog:
    return RestCatalog("icefloe", uri=server.url, warehouse="default", token=token)


@pytest.fixture(scope="module")
def scene(embedded_server: CatalogServer) -> Iterator[Scene]:
    suffix = uuid.uuid4().hex[:8]
    attacker_ns, victim_ns = f"atk_{suffix}", f"vic_{suffix}"
    admin = rest(embedded_server, embedded_server.token)
    admin.create_namespace(attacker_ns)
    admin.create_namespace(victim_ns)
    victim = admin.create_table(f"{victim_ns}.victim", schema=ROWS.schema)
    victim.append(ROWS)
    victim.append(pa.table({"id": pa.array([4], pa.int64()), "name": ["d"]}))
    token = narrowed_token(embedded_server, attacker_ns)
    with httpx.Client(
        base_url=f"{embedded_server.url}/v1/default",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as http:
        yield Scene(
            embedded_server,
            admin,
            rest(embedded_server, token),
            http,
            token,
            attacker_ns,
            f"{victim_ns}.victim",
        )


@pytest.fixture
def own(scene: Scene) -> Table:
    """A table of the attacker's own, with one real append."""
    table = scene.attacker.create_table(
        f"{scene.attacker_ns}.t_{uuid.uuid4().hex[:8]}", schema=ROWS.schema
    )
    table.append(ROWS)
    return scene.attacker.load_table(table.name())


@dataclass(frozen=True)
class TableState:
    metadata_location: str
    metadata: dict[str, Any]
    objects: frozenset[str]


def state(scene: Scene, table: Table) -> TableState:
    """What the catalog serves for the table, and every object under its location."""
    namespace, name = table.name()
    response = scene.http.get(f"/namespaces/{namespace}/tables/{name}", headers=VENDED)
    assert response.status_code == 200, response.text
    body = response.json()
    location = urlsplit(body["metadata"]["location"])
    s3 = s3_client(body["config"])
    listed = s3.list_objects_v2(Bucket=location.netloc, Prefix=location.path.lstrip("/") + "/")
    objects = frozenset(item["Key"] for item in listed.get("Contents", []))
    return TableState(body["metadata-location"], body["metadata"], objects)


def add_snapshot(table: Table, manifest_list: str, snapshot_id: int) -> dict[str, Any]:
    """An append's updateTable body on top of `table`'s current snapshot."""
    metadata = table.metadata
    parent = metadata.current_snapshot_id
    snapshot = {
        "snapshot-id": snapshot_id,
        "parent-snapshot-id": parent,
        "sequence-number": metadata.last_sequence_number + 1,
        "timestamp-ms": int(time.time() * 1000),
        "manifest-list": manifest_list,
        "summary": {"operation": "append"},
        "schema-id": metadata.current_schema_id,
    }
    return {
        "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": parent}],
        "updates": [
            {"action": "add-snapshot", "snapshot": snapshot},
            {
                "action": "set-snapshot-ref",
                "ref-name": "main",
                "type": "branch",
                "snapshot-id": snapshot_id,
            },
        ],
    }


def commit(scene: Scene, table: Table, body: dict[str, Any]) -> httpx.Response:
    namespace, name = table.name()
    return scene.http.post(f"/namespaces/{namespace}/tables/{name}", json=body)


def assert_refused_and_unchanged(
    scene: Scene, table: Table, send: Callable[[], httpx.Response], field: str
) -> str:
    before = state(scene, table)
    response = send()
    assert_error(response, 400, "BadRequestException")
    message: str = response.json()["error"]["message"]
    assert field in message, message
    assert state(scene, table) == before
    return message


def new_snapshot_id() -> int:
    return uuid.uuid4().int >> 65


def test_foreign_manifest_list_is_refused_and_table_unchanged(scene: Scene, own: Table) -> None:
    rows = scene.victim_rows()
    foreign = scene.victim_table().current_snapshot()
    assert foreign is not None
    snapshot_id = new_snapshot_id()
    assert_refused_and_unchanged(
        scene,
        own,
        lambda: commit(scene, own, add_snapshot(own, foreign.manifest_list, snapshot_id)),
        f"snapshots[snapshot-id={snapshot_id}].manifest-list",
    )
    assert scene.victim_rows() == rows


def test_staged_create_with_a_foreign_manifest_list_is_refused(scene: Scene) -> None:
    """A staged create's commit has no base: every path it names is checked."""
    foreign = scene.victim_table().current_snapshot()
    assert foreign is not None
    name = f"{scene.attacker_ns}.s_{uuid.uuid4().hex[:8]}"
    transaction = scene.attacker.create_table_transaction(name, schema=ROWS.schema)
    snapshot_id = new_snapshot_id()
    snapshot = Snapshot(
        snapshot_id=snapshot_id,
        sequence_number=1,
        timestamp_ms=int(time.time() * 1000),
        manifest_list=foreign.manifest_list,
        summary=Summary(Operation.APPEND),
        schema_id=0,
    )
    transaction._apply(
        (
            AddSnapshotUpdate(snapshot=snapshot),
            SetSnapshotRefUpdate(ref_name="main", type="branch", snapshot_id=snapshot_id),
        )
    )
    with pytest.raises(BadRequestError, match=rf"snapshots\[snapshot-id={snapshot_id}\]"):
        transaction.commit_transaction()
    assert not scene.attacker.table_exists(name)


def test_manifest_list_elsewhere_in_the_warehouse_is_refused(scene: Scene, own: Table) -> None:
    snapshot_id = new_snapshot_id()
    elsewhere = f"s3://default/shared/snap-{snapshot_id}.avro"
    assert_refused_and_unchanged(
        scene,
        own,
        lambda: commit(scene, own, add_snapshot(own, elsewhere, snapshot_id)),
        f"snapshots[snapshot-id={snapshot_id}].manifest-list",
    )


def test_manifest_list_escaping_with_dot_segments_is_refused(scene: Scene, own: Table) -> None:
    snapshot_id = new_snapshot_id()
    victim_list = scene.victim_table().current_snapshot()
    assert victim_list is not None
    escaping = f"{own.location()}/metadata/%2e%2e/%2e%2e/../{victim_list.manifest_list}"
    assert_refused_and_unchanged(
        scene,
        own,
        lambda: commit(scene, own, add_snapshot(own, escaping, snapshot_id)),
        f"snapshots[snapshot-id={snapshot_id}].manifest-list",
    )


@pytest.mark.parametrize(
    ("action", "key", "field"),
    [
        ("set-statistics", "statistics", "statistics"),
        ("set-partition-statistics", "partition-statistics", "partition-statistics"),
    ],
)
def test_foreign_statistics_file_is_refused_and_table_unchanged(
    scene: Scene, own: Table, action: str, key: str, field: str
) -> None:
    victim = scene.victim_table()
    rows = scene.victim_rows()
    snapshot = own.current_snapshot()
    assert snapshot is not None
    foreign_file = next(iter(victim.inspect.files().column("file_path").to_pylist()))
    statistics: dict[str, Any] = {
        "snapshot-id": snapshot.snapshot_id,
        "statistics-path": foreign_file,
        "file-size-in-bytes": 10,
    }
    if action == "set-statistics":
        statistics |= {"file-footer-size-in-bytes": 5, "blob-metadata": []}
    body = {"requirements": [], "updates": [{"action": action, key: statistics}]}
    assert_refused_and_unchanged(
        scene,
        own,
        lambda: commit(scene, own, body),
        f"{field}[snapshot-id={snapshot.snapshot_id}].statistics-path",
    )
    assert scene.victim_rows() == rows


def test_foreign_delete_file_in_own_manifest_is_refused(scene: Scene, own: Table) -> None:
    rows = scene.victim_rows()
    victim_file = next(iter(scene.victim_table().inspect.files().column("file_path").to_pylist()))
    snapshot_id = new_snapshot_id()
    manifest_list = manifest_list_with_delete_file(own, snapshot_id, victim_file)
    before = state(scene, own)  # the attacker's files are written; the commit is what matters
    response = commit(scene, own, add_snapshot(own, manifest_list, snapshot_id))
    assert_error(response, 400, "BadRequestException")
    message = response.json()["error"]["message"]
    assert f"snapshots[snapshot-id={snapshot_id}].manifest-list" in message
    assert victim_file in message and "-m0.avro" in message, message
    assert state(scene, own) == before
    assert scene.victim_rows() == rows


def test_own_delete_file_in_own_manifest_is_accepted(scene: Scene, own: Table) -> None:
    """The same commit naming a delete file inside the table's location lands."""
    snapshot_id = new_snapshot_id()
    inside = f"{own.location()}/data/{uuid.uuid4()}-deletes.parquet"
    manifest_list = manifest_list_with_delete_file(own, snapshot_id, inside)
    response = commit(scene, own, add_snapshot(own, manifest_list, snapshot_id))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("as_added", [False, True], ids=["carried-over", "added"])
def test_foreign_manifests_in_own_manifest_list_are_refused(
    scene: Scene, own: Table, as_added: bool
) -> None:
    """The victim's manifests listed in a manifest list of the attacker's own: as if carried
    over from an earlier snapshot (they are not in the parent's list), or as added now."""
    rows = scene.victim_rows()
    victim = scene.victim_table()
    assert victim.current_snapshot() is not None
    foreign = list(victim.current_snapshot().manifests(victim.io))
    snapshot_id = new_snapshot_id()
    if as_added:
        foreign = [replace_added_snapshot(m, snapshot_id) for m in foreign]
    own_snapshot = own.current_snapshot()
    assert own_snapshot is not None
    listed = [*own_snapshot.manifests(own.io), *foreign]
    manifest_list = write_manifest_list_of(own, snapshot_id, listed)
    before = state(scene, own)
    response = commit(scene, own, add_snapshot(own, manifest_list, snapshot_id))
    assert_error(response, 400, "BadRequestException")
    message = response.json()["error"]["message"]
    assert f"snapshots[snapshot-id={snapshot_id}].manifest-list" in message
    assert any(m.manifest_path in message for m in foreign), message
    assert state(scene, own) == before
    assert scene.victim_rows() == rows


def replace_added_snapshot(manifest: ManifestFile, snapshot_id: int) -> ManifestFile:
    fields = {
        name: getattr(manifest, name)
        for name in (
            "manifest_path",
            "manifest_length",
            "partition_spec_id",
            "content",
            "sequence_number",
            "min_sequence_number",
            "added_files_count",
            "existing_files_count",
            "deleted_files_count",
            "added_rows_count",
            "existing_rows_count",
            "deleted_rows_count",
            "partitions",
            "key_metadata",
        )
    }
    return ManifestFile.from_args(**fields, added_snapshot_id=snapshot_id)


def test_missing_or_unreadable_manifest_list_is_refused(scene: Scene, own: Table) -> None:
    snapshot_id = new_snapshot_id()
    missing = f"{own.location()}/metadata/snap-{snapshot_id}-missing.avro"
    message = assert_refused_and_unchanged(
        scene,
        own,
        lambda: commit(scene, own, add_snapshot(own, missing, snapshot_id)),
        f"snapshots[snapshot-id={snapshot_id}].manifest-list",
    )
    assert "does not exist" in message
    garbage = f"{own.location()}/metadata/snap-{snapshot_id}-garbage.avro"
    with own.io.new_output(garbage).create() as out:
        out.write(b"not an avro file")
    message = assert_refused_and_unchanged(
        scene,
        own,
        lambda: commit(scene, own, add_snapshot(own, garbage, snapshot_id)),
        f"snapshots[snapshot-id={snapshot_id}].manifest-list",
    )
    assert "cannot be read" in message


def register_body(scene: Scene, own: Table, change: Callable[[dict[str, Any]], None]) -> str:
    """A metadata file the attacker writes in its own location: its table's current metadata
    with `change` applied. Returns its location."""
    document = json.loads(json.dumps(own.metadata.model_dump(mode="json", by_alias=True)))
    change(document)
    location = f"{own.location()}/metadata/99999-{uuid.uuid4()}.metadata.json"
    with own.io.new_output(location).create() as out:
        out.write(json.dumps(document).encode())
    return location


def _foreign_manifest_list(scene: Scene) -> Callable[[dict[str, Any]], None]:
    foreign = scene.victim_table().current_snapshot()
    assert foreign is not None

    def change(document: dict[str, Any]) -> None:
        document["snapshots"][0]["manifest-list"] = foreign.manifest_list

    return change


def _foreign_metadata_log(scene: Scene) -> Callable[[dict[str, Any]], None]:
    victim_file = scene.victim_table().metadata_location

    def change(document: dict[str, Any]) -> None:
        document["metadata-log"] = [{"metadata-file": victim_file, "timestamp-ms": 1}]

    return change


@pytest.mark.parametrize(
    ("points", "field"),
    [
        (_foreign_manifest_list, "snapshots[snapshot-id="),
        (_foreign_metadata_log, "metadata-log[0].metadata-file"),
    ],
)
def test_register_of_metadata_pointing_outside_is_refused(
    scene: Scene,
    own: Table,
    points: Callable[[Scene], Callable[[dict[str, Any]], None]],
    field: str,
) -> None:
    location = register_body(scene, own, points(scene))
    namespace, name = own.name()
    fresh = f"r_{uuid.uuid4().hex[:8]}"
    for target, overwrite in ((fresh, False), (name, True)):
        assert_refused_and_unchanged(
            scene,
            own,
            lambda target=target, overwrite=overwrite: scene.http.post(
                f"/namespaces/{namespace}/register",
                json={"name": target, "metadata-location": location, "overwrite": overwrite},
            ),
            field,
        )
    assert (namespace, fresh) not in scene.attacker.list_tables(namespace)


def test_register_of_own_metadata_is_accepted(scene: Scene, own: Table) -> None:
    location = register_body(scene, own, lambda document: None)
    namespace, name = own.name()
    response = scene.http.post(
        f"/namespaces/{namespace}/register",
        json={"name": name, "metadata-location": location, "overwrite": True},
    )
    assert response.status_code == 200, response.text
    assert scene.attacker.load_table(own.name()).scan().to_arrow().num_rows == 3


def test_pyiceberg_append_overwrite_and_delete_still_work(scene: Scene) -> None:
    table = scene.attacker.create_table(
        f"{scene.attacker_ns}.w_{uuid.uuid4().hex[:8]}", schema=ROWS.schema
    )
    table.append(ROWS)
    table.overwrite(pa.table({"id": pa.array([7, 8], pa.int64()), "name": ["g", "h"]}))
    table.append(ROWS)
    table.delete("id = 2")
    rows = scene.attacker.load_table(table.name()).scan().to_arrow().to_pylist()
    assert sorted(row["id"] for row in rows) == [1, 3, 7, 8]


def test_duckdb_position_deletes_still_commit(scene: Scene, tmp_path: Path) -> None:
    """DuckDB writes position-delete files (in the table's own location) for DELETE/UPDATE."""
    name = f"{scene.attacker_ns}.d_{uuid.uuid4().hex[:8]}"
    scene.attacker.create_table(name, schema=ROWS.schema).append(ROWS)
    token_file = tmp_path / "attacker.token"
    token_file.write_text(scene.token)
    lake, _ = run_sql("duckdb-bearer", local_replacements(scene.server, token_file))
    try:
        lake.execute(f"DELETE FROM lake.{name} WHERE id = 1")
        lake.execute(f"UPDATE lake.{name} SET name = 'x' WHERE id = 2")
    finally:
        lake.close()
    table = scene.attacker.load_table(name)
    assert sorted(table.scan().to_arrow().to_pylist(), key=lambda row: row["id"]) == [
        {"id": 2, "name": "x"},
        {"id": 3, "name": "c"},
    ]
    deletes = [
        entry
        for snapshot in table.snapshots()
        for manifest in snapshot.manifests(table.io)
        if manifest.content == ManifestContent.DELETES
        for entry in manifest.fetch_manifest_entry(table.io)
    ]
    assert deletes, "DuckDB wrote no delete file: this test no longer covers delete manifests"


@pytest.fixture(scope="module")
def file_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    """A folder warehouse: PyIceberg reads a moved table's old files without credentials."""
    server = CatalogServer(tmp_path_factory.mktemp("containment-file")).start()
    yield server
    server.stop()


def test_table_whose_history_lies_outside_its_location_can_still_append(
    file_server: CatalogServer,
) -> None:
    """Only the paths a commit adds are checked: after `set-location` every earlier snapshot
    points outside the table's location, and an append carries those manifests on."""
    namespace = f"legacy_{uuid.uuid4().hex[:8]}"
    rest(file_server, file_server.token).create_namespace(namespace)
    writer = rest(file_server, narrowed_token(file_server, namespace))
    table = writer.create_table(f"{namespace}.t", schema=ROWS.schema)
    table.append(ROWS)
    old_location = table.location()
    warehouse = (file_server.data_dir / "warehouse" / "default").as_uri()
    moved = f"{warehouse}/{namespace}/moved_{uuid.uuid4().hex[:8]}"
    with httpx.Client(
        base_url=f"{file_server.url}/v1/default",
        headers={"Authorization": f"Bearer {writer.properties['token']}"},
        timeout=30,
    ) as http:
        response = http.post(
            f"/namespaces/{namespace}/tables/t",
            json={"updates": [{"action": "set-location", "location": moved}]},
        )
    assert response.status_code == 200, response.text

    table = writer.load_table(f"{namespace}.t")
    table.append(ROWS)
    table = writer.load_table(f"{namespace}.t")
    assert table.scan().to_arrow().num_rows == 6
    current = table.current_snapshot()
    assert current is not None and current.manifest_list.startswith(moved + "/")
    carried = [m.manifest_path for m in current.manifests(table.io)]
    assert any(path.startswith(old_location + "/") for path in carried), carried


def test_victim_reads_the_same_rows_after_every_attempt(scene: Scene) -> None:
    assert [row["id"] for row in scene.victim_rows()] == [1, 2, 3, 4]
