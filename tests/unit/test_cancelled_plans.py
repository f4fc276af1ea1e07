"""The cancelled plans' table: a cancellation is recorded once however often it is sent, and
the cancellations whose plans have expired are forgotten at the next cancellation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog.store.database import create_catalog_engine
from catalog.store.migrate import upgrade
from catalog.store.models import CancelledPlan, utcnow
from catalog.store.repository import SqlCatalogStore


@pytest.fixture
def store(tmp_path: Path) -> SqlCatalogStore:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    upgrade(engine)
    return SqlCatalogStore(engine, "http://catalog.test")


def stored(store: SqlCatalogStore) -> list[str]:
    with store.engine.connect() as connection:
        return sorted(connection.scalars(select(CancelledPlan.plan)))


def test_a_cancellation_sent_twice_is_recorded_once(store: SqlCatalogStore) -> None:
    now = utcnow()
    for _ in range(2):
        with store.write() as tx:
            tx.cancel_plan("a" * 32, now + timedelta(hours=1), now)
    with store.read() as tx:
        assert tx.plan_cancelled("a" * 32)
        assert not tx.plan_cancelled("b" * 32)
    assert stored(store) == ["a" * 32]


def test_expired_cancellations_are_pruned_by_the_next_one(store: SqlCatalogStore) -> None:
    now = utcnow()
    with store.write() as tx:
        tx.cancel_plan("old", now - timedelta(seconds=1), now - timedelta(hours=1))
        tx.cancel_plan("live", now + timedelta(hours=1), now - timedelta(hours=1))
    assert stored(store) == ["live", "old"]
    with store.write() as tx:
        tx.cancel_plan("new", now + timedelta(hours=1), now)
    assert stored(store) == ["live", "new"]
