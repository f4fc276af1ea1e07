"""A commit to one table outside any unit of work (catalog/store/table_commits.py), on SQLite
and PostgreSQL: the read of its target gives the records a unit of work reads, and the swap
alone writes what a unit of work writes (the pointer, the audit row, the outbox row), or
nothing at all when the pointer has moved. An append through the app opens no ORM session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.app import build_catalog, create_app
from catalog.cli import ensure_default_warehouse
from catalog.events.types import EventType, namespace_event, object_event
from catalog.exceptions import BadRequest, PointerMoved
from catalog.settings import Settings
from catalog.store.database import create_catalog_engine
from catalog.store.migrate import upgrade
from catalog.store.models import AuditEvent, CatalogObject, ChangeEventRow
from catalog.store.records import CommitTarget, ObjectRecord, PointerSwap
from catalog.store.repository import SqlCatalogStore
from tests.conftest import BACKENDS, database_url_for
from tests.support.payloads import SCHEMA, write_empty_manifest_list

SOURCE = "http://catalog.test"
DOCUMENT = '{"format-version": 2, "location": "file:///w/ns/t"}'
APPENDED = {"snapshots": [{"snapshot-id": 1}], "current-snapshot-id": 1}


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlCatalogStore]:
    url = database_url_for(request.param, request) or f"sqlite:///{tmp_path / 'catalog.db'}"
    engine = create_catalog_engine(url)
    upgrade(engine)
    with SqlCatalogStore(engine, SOURCE).write() as tx:
        warehouse = tx.insert_warehouse("w", "file:///w", {"kind": "file"}, {"a": "1"})
        namespace = tx.insert_namespace(warehouse.id, ("ns",), {"owner": "me"}, None)
        tx.emit(namespace_event(EventType.NAMESPACE_CREATED, "w", namespace.id, ("ns",)))
        for name in ("by_unit", "alone"):
            created = tx.insert_object(namespace, name, "table", "m0", DOCUMENT, "file:///w/t")
            tx.emit(object_event(EventType.TABLE_CREATED, "w", created.id, ("ns",), name))
    yield SqlCatalogStore(engine, SOURCE)
    engine.dispose()


def current(store: SqlCatalogStore, name: str) -> ObjectRecord:
    found = store.commit_target("w", ("ns",), name)
    assert found is not None and found.current is not None
    return found.current


def swap_of(record: ObjectRecord, location: str, version: int | None = None) -> PointerSwap:
    event = object_event(EventType.TABLE_COMMITTED, "w", record.id, ("ns",), record.name)
    return PointerSwap(
        record.id,
        record.version if version is None else version,
        location,
        DOCUMENT,
        "file:///w/t/",
        APPENDED,
        event=event,
    )


def rows(store: SqlCatalogStore, object_id: str, request_id: str) -> dict[str, Any]:
    """What a commit wrote: the pointer's row, its audit row, its outbox row (ids aside)."""
    with store.engine.connect() as connection:
        pointer = connection.execute(
            select(CatalogObject.__table__).where(CatalogObject.id == object_id)
        ).one()
        audit = connection.execute(
            select(AuditEvent.__table__).where(AuditEvent.request_id == request_id)
        ).all()
        events = connection.execute(
            select(ChangeEventRow.__table__).where(
                ChangeEventRow.stream == object_id,
                ChangeEventRow.type == EventType.TABLE_COMMITTED.value,
            )
        ).all()
    return {"pointer": pointer._asdict(), "audit": [a._asdict() for a in audit], "events": events}


def test_the_target_read_alone_is_what_a_unit_of_work_reads(store: SqlCatalogStore) -> None:
    with store.read() as tx:
        warehouse = tx.warehouse_by_name("w")
        assert warehouse is not None
        namespace = tx.namespace(warehouse.id, ("ns",))
        table = tx.object(warehouse.id, ("ns",), "alone")
    assert store.commit_target("w", ("ns",), "alone") == CommitTarget(warehouse, namespace, table)
    assert store.commit_target("w", ("ns",), "none") == CommitTarget(warehouse, namespace, None)
    assert store.commit_target("w", ("other",), "alone") == CommitTarget(warehouse, None, None)
    assert store.commit_target("nowhere", ("ns",), "alone") is None


def test_a_swap_alone_writes_the_rows_a_unit_of_work_writes(store: SqlCatalogStore) -> None:
    by_unit, alone = current(store, "by_unit"), current(store, "alone")
    with store.write() as tx:
        tx.swap([swap_of(by_unit, "m1")])
        tx.insert_audit("alice", "updateTable", "w/ns/t", "unit", 200)
    swap = store.swap_alone(swap_of(alone, "m1"))
    assert swap is not None
    with swap as written:
        written.insert_audit("alice", "updateTable", "w/ns/t", "alone", 200)

    expected, got = rows(store, by_unit.id, "unit"), rows(store, alone.id, "alone")
    ignored = {"id", "name", "created_at", "updated_at", "at", "request_id"}
    assert {k: v for k, v in got["pointer"].items() if k not in ignored} == {
        k: v for k, v in expected["pointer"].items() if k not in ignored
    }
    assert got["pointer"]["version"] == 2 and got["pointer"]["metadata_location"] == "m1"
    assert type(got["pointer"]["updated_at"]) is type(expected["pointer"]["updated_at"])
    ((audit,), (audit_by_unit,)) = got["audit"], expected["audit"]
    assert {k: v for k, v in audit.items() if k not in ignored} == {
        k: v for k, v in audit_by_unit.items() if k not in ignored
    }
    assert type(audit["at"]) is type(audit_by_unit["at"])
    ((event,), (event_by_unit,)) = got["events"], expected["events"]
    body, body_by_unit = json.loads(event.body), json.loads(event_by_unit.body)
    assert body["source"] == body_by_unit["source"] == f"{SOURCE}/v1/w"
    assert (body["type"], body["subject"], body["partitionkey"]) == (
        body_by_unit["type"],
        "ns.alone",
        alone.id,
    )
    assert event.position is None
    assert type(event.recorded_at) is type(event_by_unit.recorded_at)


def test_a_moved_pointer_writes_nothing_and_the_next_swap_lands(store: SqlCatalogStore) -> None:
    alone = current(store, "alone")
    stale = store.swap_alone(swap_of(alone, "m1", version=alone.version + 7))
    assert stale is not None
    with pytest.raises(PointerMoved), stale as written:
        written.insert_audit("alice", "updateTable", "w/ns/t", "stale", 200)
    assert rows(store, alone.id, "stale") == {
        "pointer": rows(store, alone.id, "none")["pointer"],
        "audit": [],
        "events": [],
    }
    assert current(store, "alone") == alone

    landed = store.swap_alone(swap_of(alone, "m1"))
    assert landed is not None
    with landed as written:
        written.insert_audit("alice", "updateTable", "w/ns/t", "landed", 200)
    assert current(store, "alone").version == alone.version + 1
    assert len(rows(store, alone.id, "landed")["events"]) == 1


def test_a_failed_block_rolls_the_swap_back(store: SqlCatalogStore) -> None:
    alone = current(store, "alone")
    swap = store.swap_alone(swap_of(alone, "m1"))
    assert swap is not None
    with pytest.raises(RuntimeError), swap:
        raise RuntimeError("the block failed")
    assert current(store, "alone") == alone
    assert rows(store, alone.id, "none")["events"] == []


def test_what_the_search_index_or_the_integer_guard_must_see_is_not_swapped_alone(
    store: SqlCatalogStore,
) -> None:
    alone = current(store, "alone")
    for parts in (None, {"properties": {"a": "1"}}, {"schemas": []}):
        swap = swap_of(alone, "m1")
        assert store.swap_alone(PointerSwap(**{**swap.__dict__, "new_parts": parts})) is None
    no_event = PointerSwap(**{**swap_of(alone, "m1").__dict__, "event": None})
    assert store.swap_alone(no_event) is None
    with pytest.raises(BadRequest, match="wrong type"):
        store.swap_alone(
            PointerSwap(
                **{**swap_of(alone, "m1").__dict__, "new_parts": {"current-snapshot-id": 1.5}}
            )
        )


def test_an_append_through_the_app_opens_no_orm_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        data_dir=tmp_path, embedded_s3=False, maintenance_enabled=False, auth_enabled=False
    )
    catalog = build_catalog(settings)
    ensure_default_warehouse(catalog, settings, None)
    app = create_app(settings, catalog)
    sessions: list[Session] = []
    opened = Session.__init__

    def counted(self: Session, *args: Any, **kwargs: Any) -> None:
        sessions.append(self)
        opened(self, *args, **kwargs)

    async def append() -> tuple[int, str]:
        transport = httpx.ASGITransport(app=app)
        base = "http://catalog/v1/default"
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            await client.post("/namespaces", json={"namespace": ["ns"]})
            table = (
                await client.post("/namespaces/ns/tables", json={"name": "t", "schema": SCHEMA})
            ).json()["metadata"]
            manifest_list = write_empty_manifest_list(f"{table['location']}/metadata/snap.avro")
            snapshot = {
                "snapshot-id": 7,
                "sequence-number": 1,
                "timestamp-ms": table["last-updated-ms"] + 1,
                "manifest-list": manifest_list,
                "summary": {"operation": "append"},
                "schema-id": 0,
            }
            body = {
                "requirements": [
                    {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": None}
                ],
                "updates": [
                    {"action": "add-snapshot", "snapshot": snapshot},
                    {
                        "action": "set-snapshot-ref",
                        "ref-name": "main",
                        "type": "branch",
                        "snapshot-id": 7,
                    },
                ],
            }
            await client.post("/namespaces/ns/tables/t", json=body)  # the first reads the file
            monkeypatch.setattr(Session, "__init__", counted)
            body["requirements"][0]["snapshot-id"] = 7
            snapshot.update({"snapshot-id": 8, "parent-snapshot-id": 7, "sequence-number": 2})
            body["updates"][1]["snapshot-id"] = 8
            response = await client.post("/namespaces/ns/tables/t", json=body)
            return response.status_code, response.text

    status, text = asyncio.run(append())
    assert status == 200, text
    assert sessions == []
