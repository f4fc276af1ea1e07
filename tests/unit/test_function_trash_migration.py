"""Migration 0011 on SQLite (PostgreSQL runs it at every server start of the integration
tests): a function made before it becomes searchable, and a downgrade forgets what only 0011
could hold (functions in the trash and in search) instead of failing on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from catalog.store.database import create_catalog_engine
from catalog.store.migrate import alembic_config

FUNCTION = {
    "function-uuid": "0b6c9a4e-4d8e-4a57-8d7f-2f7f4a1c9e01",
    "format-version": 1,
    "doc": "converts currencies",
    "definitions": [
        {
            "definition-id": "double",
            "parameters": [{"name": "amount", "type": "double", "doc": "in euros"}],
            "return-type": "double",
            "versions": [],
            "current-version-id": 1,
            "function-type": "udf",
        }
    ],
    "definition-log": [],
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}", pool_size=1)
    yield engine
    engine.dispose()


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_a_function_made_before_0011_is_searchable_after_it(engine: Engine) -> None:
    migrate(engine, "0010")
    with engine.begin() as connection:
        now = "2026-11-28 23:00:00"
        connection.execute(
            sa.text(
                "INSERT INTO warehouses (id, name, location, storage, properties, created_at, "
                "updated_at) VALUES ('w', 'w', 'file:///w', '{}', '{}', :now, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO namespaces (id, warehouse_id, name, parent, properties, created_at, "
                "updated_at) VALUES ('n', 'w', 'fx', '', '{}', :now, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO catalog_functions (id, warehouse_id, namespace_id, name, "
                "metadata_json, version, created_at, updated_at) "
                "VALUES ('f', 'w', 'n', 'to_usd', :doc, 1, :now, :now)"
            ),
            {"doc": json.dumps(FUNCTION), "now": now},
        )

    migrate(engine, "0011")

    with engine.connect() as connection:
        entry = connection.execute(
            sa.text("SELECT kind, namespace, name, columns, properties FROM search_entries")
        ).one()
        found = connection.execute(
            sa.text("SELECT rowid FROM search_fts WHERE search_fts MATCH '\"euros\"*'")
        ).all()
    assert tuple(entry) == ("function", "fx", "to_usd", "amount", "converts currencies in euros")
    assert len(found) == 1

    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO trashed_objects (id, warehouse_id, namespace, name, kind, "
                "metadata_location, metadata_json, location, version, created_at, namespaces, "
                "purge_requested, dropped_by, dropped_at, expires_at) VALUES ('g', 'w', 'fx', "
                "'old', 'function', NULL, '{}', NULL, 1, :now, '{}', 0, 'me', :now, :now)"
            ),
            {"now": "2026-11-28 23:00:00"},
        )
    migrate(engine, "0010", down=True)
    with engine.connect() as connection:
        left = connection.execute(sa.text("SELECT count(*) FROM search_entries")).scalar()
        trashed = connection.execute(sa.text("SELECT count(*) FROM trashed_objects")).scalar()
    assert (left, trashed) == (0, 0)
