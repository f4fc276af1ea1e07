"""Baseline (a): the floor under a commit, with nothing but the commit in it.

One append here is what the catalog's commit path must do at the very least: write one new
metadata file (through the catalog's own object store, so with the same fsync of file and
directory) and move the pointer with one compare-and-swap, `UPDATE catalog_objects ... WHERE
id = ? AND version = ?`, in-process, against the database the catalog server uses, through an
engine made by the catalog's own `create_catalog_engine` (so the same SQLite pragmas and the
same `BEGIN IMMEDIATE` for writes). The statement is written out here, on the catalog's table
mapping, rather than called through the repository, whose signatures change more often than
the statement does. The new document is the old one plus a snapshot, built as plain dicts and
serialized by orjson: no HTTP, no pydantic, no pyiceberg. A loser rereads the row and retries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import orjson
from sqlalchemy import Engine, select, update

from catalog.store.database import WRITE_OPTIONS, create_catalog_engine
from catalog.store.models import CatalogObject, Namespace, utcnow
from storage.io import LocalObjectStore
from tests.benchmarks.inprocess import run_writers
from tests.benchmarks.metadata import Document, append_to
from tests.benchmarks.stats import CommitResult


@dataclass(frozen=True)
class Pointer:
    object_id: str
    metadata_location: str
    version: int


class RawWriter:
    def __init__(self, engine: Engine, pointer: Pointer, metadata_json: str) -> None:
        self._reader = engine
        self._writer = engine.execution_options(**WRITE_OPTIONS)
        self._files = LocalObjectStore()
        self._pointer = pointer
        self._document: Document = orjson.loads(metadata_json)

    def _reload(self) -> None:
        with self._reader.begin() as connection:
            row = connection.execute(
                select(
                    CatalogObject.metadata_location,
                    CatalogObject.metadata_json,
                    CatalogObject.version,
                ).where(CatalogObject.id == self._pointer.object_id)
            ).one()
        self._pointer = Pointer(self._pointer.object_id, row.metadata_location, row.version)
        self._document = orjson.loads(row.metadata_json)

    def try_append(self) -> bool:
        pointer = self._pointer
        document = append_to(self._document, pointer.metadata_location)
        text = orjson.dumps(document).decode("utf-8")
        version = int(pointer.metadata_location.rsplit("/", 1)[-1].split("-", 1)[0]) + 1
        location = f"{document['location']}/metadata/{version:05d}-{uuid.uuid4()}.metadata.json"
        self._files.write_new(location, text.encode("utf-8"))
        with self._writer.begin() as connection:
            swapped = connection.execute(
                update(CatalogObject)
                .where(
                    CatalogObject.id == pointer.object_id,
                    CatalogObject.version == pointer.version,
                )
                .values(
                    metadata_location=location,
                    metadata_json=text,
                    version=CatalogObject.version + 1,
                    updated_at=utcnow(),
                )
            ).rowcount
        if swapped != 1:
            self._files.delete(location)
            self._reload()
            return False
        self._pointer = Pointer(pointer.object_id, location, pointer.version + 1)
        self._document = document
        return True


def raw_writers(
    database_url: str, namespace: str, tables: list[str]
) -> tuple[Engine, list[RawWriter]]:
    """One writer per entry of `tables` (a name may repeat: writers on one table contend)."""
    engine = create_catalog_engine(database_url)
    writers = []
    with engine.begin() as connection:
        for name in tables:
            row = connection.execute(
                select(
                    CatalogObject.id,
                    CatalogObject.metadata_location,
                    CatalogObject.metadata_json,
                    CatalogObject.version,
                )
                .join(Namespace, Namespace.id == CatalogObject.namespace_id)
                .where(Namespace.name == namespace, CatalogObject.name == name)
            ).one()
            pointer = Pointer(row.id, row.metadata_location, row.version)
            writers.append(RawWriter(engine, pointer, row.metadata_json))
    return engine, writers


def run_raw(
    database_url: str, namespace: str, tables: list[str], appends: int, seconds: float = 600
) -> CommitResult:
    """The floor measured: `appends` raw appends per entry of `tables`, one thread each."""
    engine, writers = raw_writers(database_url, namespace, tables)
    try:
        return run_writers(writers, appends, seconds)
    finally:
        engine.dispose()
