"""Soft delete: a dropped table goes to its warehouse's trash, comes back with `undrop`, and
leaves for good (purged, or only forgotten) when its retention ends (docs/governance.md)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

from storage.io import local_path
from tests.support.engines import local_replacements, run_sql
from tests.support.error_model import assert_error
from tests.support.governance import (
    admin,
    audit_operations,
    expire_now,
    icefloe,
    lake,
    new_warehouse,
    trash,
    undrop,
)
from tests.support.postgres import PostgresCluster
from tests.support.server import CatalogServer, server_pair

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "city": ["Oslo", "Lima", "Pune"]})
OTHER = pa.table({"id": pa.array([9], pa.int64()), "city": ["Kyiv"]})


def files_under(location: str) -> dict[Path, bytes]:
    root = local_path(location)
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def rows(catalog: RestCatalog, identifier: str) -> list[dict[str, object]]:
    return sorted(catalog.load_table(identifier).scan().to_arrow().to_pylist(), key=str)


def test_a_dropped_table_is_gone_from_listing_and_load_and_undrop_brings_it_back_unchanged(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.cities", schema=ROWS.schema)
    table.append(ROWS)
    before = pyiceberg.load_table(f"{ns}.cities")

    pyiceberg.purge_table(f"{ns}.cities")  # purge too goes to the trash first

    assert (ns, "cities") not in pyiceberg.list_tables(ns)
    with pytest.raises(NoSuchTableError):
        pyiceberg.load_table(f"{ns}.cities")
    assert not pyiceberg.table_exists(f"{ns}.cities")
    duck, _ = run_sql("duckdb-bearer", local_replacements(embedded_server))
    assert duck.execute(f"SHOW TABLES FROM lake.{ns}").fetchall() == []
    (entry,) = [e for e in trash(embedded_server) if e["namespace"] == [ns]]
    assert (entry["name"], entry["kind"], entry["purge-requested"]) == ("cities", "table", True)
    assert before.io.new_input(before.metadata_location).exists()  # its files stay

    restored = undrop(embedded_server, f"{ns}.cities")

    assert restored.status_code == 200, restored.text
    after = pyiceberg.load_table(f"{ns}.cities")
    assert after.metadata_location == before.metadata_location
    assert after.metadata == before.metadata
    assert rows(pyiceberg, f"{ns}.cities") == sorted(ROWS.to_pylist(), key=str)
    duck, _ = run_sql("duckdb-bearer", local_replacements(embedded_server))
    assert duck.execute(f"SELECT count(*) FROM lake.{ns}.cities").fetchall() == [(3,)]
    after.append(OTHER)  # and it takes commits again
    assert len(rows(pyiceberg, f"{ns}.cities")) == 4
    assert [e for e in trash(embedded_server) if e["namespace"] == [ns]] == []


def test_a_name_reused_while_the_old_table_is_in_the_trash_needs_undrop_as(
    catalog_server: CatalogServer, catalog: RestCatalog, namespace: str
) -> None:
    old = catalog.create_table(f"{namespace}.t", schema=ROWS.schema)
    old.append(ROWS)
    catalog.drop_table(f"{namespace}.t")
    new = catalog.create_table(f"{namespace}.t", schema=ROWS.schema)  # the name is free
    new.append(OTHER)

    refused = undrop(catalog_server, f"{namespace}.t")
    message = assert_error(refused, 409, "AlreadyExistsException")
    assert f"{namespace}.t" in message and "another name" in message
    assert rows(catalog, f"{namespace}.t") == OTHER.to_pylist()
    assert len(trash(catalog_server)) >= 1

    restored = undrop(catalog_server, f"{namespace}.t", rename_to=f"{namespace}.t_old")

    assert restored.status_code == 200, restored.text
    assert catalog.load_table(f"{namespace}.t_old").metadata_location == old.metadata_location
    assert rows(catalog, f"{namespace}.t_old") == sorted(ROWS.to_pylist(), key=str)
    assert rows(catalog, f"{namespace}.t") == OTHER.to_pylist()
    assert ("undropTable", f"default/{namespace}/t_old") in audit_operations(catalog_server)


def test_when_retention_ends_a_purge_deletes_exactly_the_dropped_tables_files(
    catalog_server: CatalogServer,
) -> None:
    warehouse = new_warehouse(catalog_server, retention_seconds=3600)
    catalog = lake(catalog_server, warehouse)
    catalog.create_namespace("ns")
    purged, kept, neighbour = (
        catalog.create_table(f"ns.{name}", schema=ROWS.schema)
        for name in ("purged", "kept", "neighbour")
    )
    for table in (purged, kept, neighbour):
        table.append(ROWS)
    kept_files, neighbour_files = files_under(kept.location()), files_under(neighbour.location())
    assert files_under(purged.location())
    catalog.purge_table("ns.purged")
    catalog.drop_table("ns.kept")

    assert expire_now(catalog_server) == []  # an hour to go: nothing happens
    assert files_under(purged.location())
    shorten_retention(catalog_server, warehouse)

    done = {(e["name"], e["outcome"]) for e in expire_now(catalog_server)}

    assert done == {("purged", "purged"), ("kept", "forgotten")}
    assert files_under(purged.location()) == {}
    assert files_under(kept.location()) == kept_files  # dropped without purge: files stay
    assert files_under(neighbour.location()) == neighbour_files
    assert rows(catalog, "ns.neighbour") == sorted(ROWS.to_pylist(), key=str)
    assert trash(catalog_server, warehouse) == []
    assert_error(undrop(catalog_server, "ns.purged", warehouse), 404, "NotFoundException")
    operations = audit_operations(catalog_server)
    target = f"{warehouse}/ns/purged"
    assert {("trashTableWithPurge", target), ("purgeTable", target)} <= set(operations)
    assert ("forgetTable", f"{warehouse}/ns/kept") in operations


def shorten_retention(server: CatalogServer, warehouse: str) -> None:
    """One second: what the trash holds expires a second after its drop, so now."""
    with admin(server) as client:
        shortened = client.put(
            f"/warehouses/{warehouse}/trash/retention", json={"retention-seconds": 1}
        )
    assert shortened.status_code == 200, shortened.text
    time.sleep(1.1)


def test_with_retention_zero_a_drop_is_final_as_without_a_trash(
    catalog_server: CatalogServer,
) -> None:
    warehouse = new_warehouse(catalog_server, retention_seconds=0)
    catalog = lake(catalog_server, warehouse)
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.t", schema=ROWS.schema)
    table.append(ROWS)

    catalog.purge_table("ns.t")

    assert files_under(table.location()) == {}
    assert trash(catalog_server, warehouse) == []
    assert_error(undrop(catalog_server, "ns.t", warehouse), 404, "NotFoundException")


def test_a_location_whose_purge_is_to_come_cannot_be_claimed_by_a_new_table(
    catalog: RestCatalog, namespace: str, http: httpx.Client
) -> None:
    purged = catalog.create_table(f"{namespace}.purged", schema=ROWS.schema)
    dropped = catalog.create_table(f"{namespace}.dropped", schema=ROWS.schema)
    catalog.purge_table(f"{namespace}.purged")
    catalog.drop_table(f"{namespace}.dropped")

    claimed = http.post(
        f"/namespaces/{namespace}/tables",
        json={"name": "squatter", "schema": ROWS_SCHEMA, "location": purged.location()},
    )
    assert "purged" in assert_error(claimed, 400, "BadRequestException")
    # Files the trash will not delete may be registered again, as before there was a trash.
    again = catalog.register_table(f"{namespace}.again", dropped.metadata_location)
    assert again.metadata_location == dropped.metadata_location


ROWS_SCHEMA = {
    "type": "struct",
    "schema-id": 0,
    "fields": [
        {"id": 1, "name": "id", "type": "long", "required": False},
        {"id": 2, "name": "city", "type": "string", "required": False},
    ],
}


def test_a_recursive_namespace_drop_trashes_everything_and_one_table_comes_back(
    catalog_server: CatalogServer, catalog: RestCatalog, namespace: str
) -> None:
    catalog.update_namespace_properties(namespace, updates={"owner": "ana"})
    catalog.create_namespace((namespace, "child"))
    top = catalog.create_table(f"{namespace}.top", schema=ROWS.schema)
    top.append(ROWS)
    deep = catalog.create_table((namespace, "child", "deep"), schema=ROWS.schema)
    deep.append(OTHER)
    # Another namespace whose name differs only in case (SQLite's LIKE would not tell).
    catalog.create_namespace(namespace.upper())
    catalog.create_namespace((namespace.upper(), "child"))
    catalog.create_table((namespace.upper(), "child", "deep"), schema=ROWS.schema)

    with admin(catalog_server) as client:
        dropped = client.delete(f"/warehouses/default/namespaces/{namespace}")
    assert dropped.status_code == 200, dropped.text
    assert sorted(o["name"] for o in dropped.json()["objects"]) == ["deep", "top"]

    with pytest.raises(NoSuchNamespaceError):
        catalog.load_namespace_properties(namespace)
    assert not catalog.table_exists(f"{namespace}.top")
    mine = {e["name"] for e in trash(catalog_server) if e["namespace"][0] == namespace}
    assert mine == {"top", "deep"}

    assert undrop(catalog_server, f"{namespace}.child.deep").status_code == 200

    # The levels the drop removed come back as they were, and only they.
    assert catalog.load_namespace_properties(namespace) == {"owner": "ana"}
    assert catalog.load_table((namespace, "child", "deep")).metadata_location == (
        deep.metadata_location
    )
    assert rows(catalog, f"{namespace}.child.deep") == OTHER.to_pylist()
    assert catalog.list_tables(namespace) == []
    assert catalog.table_exists((namespace.upper(), "child", "deep"))
    assert ("dropNamespaceRecursive", f"default/{namespace}") in audit_operations(catalog_server)


def test_the_cli_drops_recursively_lists_the_trash_and_undrops_under_another_name(
    catalog_server: CatalogServer, catalog: RestCatalog
) -> None:
    namespace = f"cli_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(namespace)
    table = catalog.create_table(f"{namespace}.t", schema=ROWS.schema)
    table.append(ROWS)

    dropped = icefloe(catalog_server, "namespace", "drop", namespace, "--recursive")
    assert dropped.returncode == 0, dropped.stdout + dropped.stderr
    listed = icefloe(catalog_server, "trash", "list")
    assert f"{namespace}.t" in listed.stdout
    catalog.create_namespace(namespace)
    catalog.create_table(f"{namespace}.t", schema=ROWS.schema)

    taken = icefloe(catalog_server, "undrop", f"{namespace}.t")
    assert taken.returncode == 1 and "another name" in taken.stdout
    restored = icefloe(catalog_server, "undrop", f"{namespace}.t", "--as", f"{namespace}.t2")

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert catalog.load_table(f"{namespace}.t2").metadata_location == table.metadata_location
    assert rows(catalog, f"{namespace}.t2") == sorted(ROWS.to_pylist(), key=str)


# Two `icefloe serve` processes sharing one PostgreSQL database.


@pytest.fixture(scope="module")
def pair(
    postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CatalogServer, CatalogServer]]:
    database_url = postgres.create_database()
    env = {"ICEFLOE_JWT_SIGNING_KEY": secrets.token_urlsafe(48)}
    dirs = (tmp_path_factory.mktemp("trash-a"), tmp_path_factory.mktemp("trash-b"))
    with server_pair(dirs, database_url, env) as servers:
        yield servers


def test_drop_undrop_and_purge_across_two_processes_on_postgresql(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    one, other = pair
    warehouse = new_warehouse(one, retention_seconds=3600)
    first, second = lake(one, warehouse), lake(other, warehouse)
    first.create_namespace("ns")
    first.create_namespace("gone")
    table = first.create_table("ns.t", schema=ROWS.schema)
    table.append(ROWS)
    doomed = first.create_table("gone.d", schema=ROWS.schema)
    doomed.append(ROWS)
    assert rows(second, "ns.t") == sorted(ROWS.to_pylist(), key=str)  # cached there

    first.drop_table("ns.t")
    with pytest.raises(NoSuchTableError):
        second.load_table("ns.t")
    assert second.list_tables("ns") == []

    assert undrop(other, "ns.t", warehouse).status_code == 200
    assert first.load_table("ns.t").metadata_location == table.metadata_location
    assert rows(first, "ns.t") == sorted(ROWS.to_pylist(), key=str)

    with admin(other) as client:
        recursive = client.delete(
            f"/warehouses/{warehouse}/namespaces/gone", params={"purgeRequested": "true"}
        )
        assert recursive.status_code == 200, recursive.text
    with pytest.raises(NoSuchTableError):
        first.load_table("gone.d")
    shorten_retention(one, warehouse)
    outcomes = [e["outcome"] for e in expire_now(one)] + [e["outcome"] for e in expire_now(other)]
    assert outcomes == ["purged"]  # once, by whichever process claimed it
    assert files_under(doomed.location()) == {}
    assert files_under(table.location())


def test_the_scheduler_purges_what_the_trash_lets_go_on_its_own(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = CatalogServer(
        tmp_path_factory.mktemp("trash-scheduler"),
        env={"ICEFLOE_MAINTENANCE_INTERVAL_SECONDS": "1", "ICEFLOE_TRASH_RETENTION_SECONDS": "2"},
    ).start()
    try:
        catalog = lake(server)
        catalog.create_namespace("ns")
        table = catalog.create_table("ns.t", schema=ROWS.schema)
        table.append(ROWS)
        catalog.purge_table("ns.t")
        assert files_under(table.location())

        deadline = time.monotonic() + 60
        while files_under(table.location()) and time.monotonic() < deadline:
            time.sleep(0.5)

        assert files_under(table.location()) == {}
        assert trash(server) == []
        assert ("purgeTable", "default/ns/t") in audit_operations(server)
    finally:
        server.stop()
