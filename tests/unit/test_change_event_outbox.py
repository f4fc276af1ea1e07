"""The outbox's rules in one unit of work: an event commits with its change or not at all, a
change without an event is refused, and positions follow commit order (SQLite)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalog.events.dispatcher import Delivering
from catalog.events.sinks import signature
from catalog.events.types import EventType, namespace_event
from catalog.exceptions import AlreadyExists
from catalog.store.database import create_catalog_engine
from catalog.store.migrate import upgrade
from catalog.store.models import ChangeEventRow, utcnow
from catalog.store.outbox import Outbox, Outcome
from catalog.store.repository import SqlCatalogStore


@pytest.fixture
def store(tmp_path: Path) -> SqlCatalogStore:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    upgrade(engine)
    store = SqlCatalogStore(engine, "http://catalog.test")
    with store.write() as tx:
        tx.insert_warehouse("w", "file:///tmp/w", {}, {})
    return store


def created(store: SqlCatalogStore, name: str) -> None:
    with store.write() as tx:
        warehouse = tx.warehouse_by_name("w")
        assert warehouse is not None
        namespace = tx.insert_namespace(warehouse.id, (name,), {}, None)
        tx.emit(namespace_event(EventType.NAMESPACE_CREATED, "w", namespace.id, (name,)))


def count(store: SqlCatalogStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(ChangeEventRow)) or 0)


def test_an_event_is_written_with_its_change(store: SqlCatalogStore) -> None:
    created(store, "a")
    outbox = Outbox(store.engine)
    assert outbox.stamp([], utcnow()) == 1
    (event,) = outbox.page(0, 10)
    body = json.loads(event.body)
    assert body["type"] == "io.icefloe.namespace.created"
    assert body["source"] == "http://catalog.test/v1/w"
    assert body["subject"] == "a"
    assert body["partitionkey"] == event.stream


def test_a_refused_change_leaves_no_event(store: SqlCatalogStore) -> None:
    created(store, "a")
    with pytest.raises(AlreadyExists):
        created(store, "a")
    assert count(store) == 1


def test_a_change_without_its_event_is_not_committed(store: SqlCatalogStore) -> None:
    with pytest.raises(RuntimeError, match="without its event"), store.write() as tx:
        warehouse = tx.warehouse_by_name("w")
        assert warehouse is not None
        tx.insert_namespace(warehouse.id, ("lonely",), {}, None)
    with store.read() as tx:
        warehouse = tx.warehouse_by_name("w")
        assert warehouse is not None
        assert tx.namespace(warehouse.id, ("lonely",)) is None
    assert count(store) == 0


def test_positions_continue_and_queue_each_event_for_each_sink(store: SqlCatalogStore) -> None:
    outbox = Outbox(store.engine)
    created(store, "a")
    outbox.stamp(["hook", "nats"], utcnow())
    created(store, "b")
    created(store, "c")
    outbox.stamp(["hook", "nats"], utcnow())
    assert [e.position for e in outbox.page(0, 10)] == [1, 2, 3]
    assert [e.position for e in outbox.page(1, 1)] == [2]
    assert [d.position for d in outbox.pending("hook", 10, utcnow())] == [1, 2, 3]
    assert [d.position for d in outbox.pending("nats", 10, utcnow())] == [1, 2, 3]


def test_a_stream_waiting_for_a_retry_does_not_hold_back_the_others(
    store: SqlCatalogStore,
) -> None:
    outbox = Outbox(store.engine)
    created(store, "a")
    created(store, "b")
    outbox.stamp(["hook"], utcnow())
    first, second = outbox.pending("hook", 10, utcnow())
    later = utcnow() + timedelta(minutes=5)
    outbox.record([Outcome("hook", first.event, "pending", 1, later, "HTTP 500")])
    assert [d.position for d in outbox.pending("hook", 10, utcnow())] == [second.position]
    assert [d.position for d in outbox.pending("hook", 10, later)] == [1, 2]
    outbox.record([Outcome("hook", first.event, "dead", 8, later, "HTTP 500")])
    (dead,) = outbox.dead("hook", 0, 10)
    assert (dead.position, dead.attempts, dead.last_error) == (1, 8, "HTTP 500")


def test_pruning_forgets_only_old_events_every_sink_is_done_with(store: SqlCatalogStore) -> None:
    outbox = Outbox(store.engine)
    for name in ("a", "b", "c", "d"):
        created(store, name)
    outbox.stamp(["hook"], utcnow())
    a, b, _still_pending, d = outbox.pending("hook", 10, utcnow())
    done = utcnow()
    outbox.record(
        [
            Outcome("hook", a.event, "delivered", 1, done),
            Outcome("hook", b.event, "dead", 8, done, "HTTP 500"),
            Outcome("hook", d.event, "delivered", 1, done),
        ]
    )
    assert outbox.prune(utcnow() - timedelta(days=1)) == 0  # all younger than the retention
    # a (delivered) and b (dead-lettered) go; c is still to be delivered; d is the newest,
    # which stamping continues from
    assert outbox.prune(utcnow() + timedelta(seconds=1)) == 2
    assert [e.position for e in outbox.page(0, 10)] == [3, 4]
    assert outbox.dead("hook", 0, 10) == []
    created(store, "e")
    outbox.stamp(["hook"], utcnow())
    assert [e.position for e in outbox.page(0, 10)] == [3, 4, 5]


def test_signature_is_the_hmac_sha256_of_the_body() -> None:
    # echo -n body | openssl dgst -sha256 -hmac key
    digest = "515aae133b435d4000956731f68ae5cf5eb85d4f0dc6a546d2bfcd3595ec1ae1"
    assert signature(b"key", b"body") == f"sha256={digest}"


def test_retries_back_off_exponentially_up_to_the_limit() -> None:
    policy = Delivering(first_retry=timedelta(seconds=1), max_retry=timedelta(seconds=10))
    assert [policy.retry_after(n).total_seconds() for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_every_event_type_is_named_under_the_prefix_once() -> None:
    values = [t.value for t in EventType]
    assert len(set(values)) == len(values)
    assert all(v.startswith("io.icefloe.") for v in values)
