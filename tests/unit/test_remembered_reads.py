"""The fast paths' remembered reads on SQLite (catalog/store/remembered.py): an answer is read
once and served again while nothing is committed, and a commit by any connection, in this
process or another, is seen by the very next read."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from catalog.store.database import create_catalog_engine
from catalog.store.remembered import MISS, RememberedReads

READ = "SELECT value FROM pointers WHERE name = ?"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "catalog.db"
    engine = create_catalog_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE pointers (name TEXT PRIMARY KEY, value TEXT)")
        connection.exec_driver_sql("INSERT INTO pointers VALUES ('t', 'v1')")
    yield engine, path
    engine.dispose()


class Reader:
    """Counts the rows it was handed: how many times the database was read."""

    def __init__(self) -> None:
        self.built = 0

    def __call__(self, row: Sequence[Any] | None) -> str | None:
        self.built += 1
        return None if row is None else str(row[0])


def test_an_answer_is_read_once_while_nothing_is_committed(
    database: tuple[Engine, Path],
) -> None:
    engine, _ = database
    reads, build = RememberedReads(engine), Reader()
    answers = [reads.get("t", READ, ("t",), build) for _ in range(5)]
    assert answers == ["v1"] * 5
    assert build.built == 1
    assert reads.get("u", READ, ("u",), build) is None
    assert reads.get("u", READ, ("u",), build) is None
    assert build.built == 2
    reads.close()


def test_a_commit_by_another_connection_of_this_process_is_seen_by_the_next_read(
    database: tuple[Engine, Path],
) -> None:
    engine, _ = database
    reads, build = RememberedReads(engine), Reader()
    assert reads.get("t", READ, ("t",), build) == "v1"
    assert reads.get("u", READ, ("u",), build) is None
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE pointers SET value = 'v2' WHERE name = 't'")
        connection.exec_driver_sql("INSERT INTO pointers VALUES ('u', 'new')")
    assert reads.get("t", READ, ("t",), build) == "v2"
    assert reads.get("u", READ, ("u",), build) == "new"
    reads.close()


def test_a_commit_by_another_process_is_seen_by_the_next_read(
    database: tuple[Engine, Path],
) -> None:
    engine, path = database
    reads, build = RememberedReads(engine), Reader()
    for version in range(2, 6):
        write = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            f"c.execute(\"UPDATE pointers SET value = 'v{version}'\"); c.commit()"
        )
        subprocess.run([sys.executable, "-c", write, str(path)], check=True, timeout=60)
        assert reads.get("t", READ, ("t",), build) == f"v{version}"
    reads.close()


def test_a_reader_that_finds_the_connection_taken_reads_as_before(
    database: tuple[Engine, Path],
) -> None:
    engine, _ = database
    reads = RememberedReads(engine)
    with reads._lock:  # another thread in the middle of a read
        assert reads.get("t", READ, ("t",), Reader()) is MISS
    assert reads.get("t", READ, ("t",), Reader()) == "v1"
    reads.close()


def test_a_database_that_fails_is_left_to_the_reader(database: tuple[Engine, Path]) -> None:
    engine, _ = database
    reads = RememberedReads(engine)
    assert reads.get("bad", "SELECT nothing FROM nowhere", (), Reader()) is MISS
    assert reads.get("t", READ, ("t",), Reader()) == "v1"  # a fresh connection
    reads.close()
