"""The search index on SQLite: ranking inside the window, index order past it, and paging that
reaches every match exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from catalog.store import search_index
from catalog.store.database import create_catalog_engine
from catalog.store.migrate import upgrade
from catalog.store.models import Warehouse, utcnow
from catalog.store.search_index import SearchIndex


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def fill(engine: Engine, names: list[str]) -> str:
    warehouse = str(uuid.uuid4())
    with Session(engine) as session, session.begin():
        session.execute(
            insert(Warehouse).values(
                id=warehouse,
                name="w",
                location="file:///w",
                storage={},
                properties={},
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        index = SearchIndex(session)
        for name in names:
            document = '{"properties": {}, "schemas": [], "current-schema-id": 0}'
            index.put_object(str(uuid.uuid4()), warehouse, "table", ("ns",), name, document)
    return warehouse


def walk(engine: Engine, query: str, page: int) -> list[str]:
    names: list[str] = []
    with Session(engine) as session:
        index = SearchIndex(session)
        while True:
            words = search_index.terms(query)
            hits = index.search(words, query, None, len(names), page)
            names += [hit.name for hit in hits]
            if len(hits) < page:
                return names


def test_paging_past_the_rank_window_reaches_every_match_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index, "RANK_WINDOW", 5)
    names = [f"sales_{i:02d}" for i in range(12)] + ["sales", "other"]
    fill(engine, names)
    for page in (1, 3, 5, 20):
        walked = walk(engine, "sales", page)
        assert walked[0] == "sales", page  # the exact name first, though created late
        assert sorted(walked) == sorted(n for n in names if n.startswith("sales")), page
        assert len(walked) == len(set(walked)) == 13, page
