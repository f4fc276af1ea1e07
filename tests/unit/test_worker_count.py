"""How many workers `serve` starts when not told: one per core on PostgreSQL, one on SQLite."""

from __future__ import annotations

from pathlib import Path

from catalog.settings import Settings
from catalog.workers import WorkerCount, worker_count

POSTGRES = "postgresql+psycopg://icefloe@localhost/icefloe"


def test_one_worker_per_core_on_postgresql(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=POSTGRES)
    assert worker_count(settings, cores=4) == WorkerCount(4, explicit=False)


def test_one_worker_on_sqlite_unless_asked(tmp_path: Path) -> None:
    assert worker_count(Settings(data_dir=tmp_path), cores=4) == WorkerCount(1, explicit=False)
    asked = Settings(data_dir=tmp_path, workers=3)
    assert worker_count(asked, cores=4) == WorkerCount(3, explicit=True)


def test_the_count_asked_for_wins_on_postgresql(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=POSTGRES, workers=1)
    assert worker_count(settings, cores=4) == WorkerCount(1, explicit=True)
