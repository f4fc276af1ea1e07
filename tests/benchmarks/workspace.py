"""What one run's suites share: a scratch directory, PostgreSQL (started on first use, stopped
at the end) and populated catalogs (built once per size and reused by every suite that only
reads them, since populating 100,000 tables is the slowest part of a run)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Literal

from tests.benchmarks.populate import PopulatedCatalog, populate
from tests.benchmarks.servers import postgres_facts, start_postgres
from tests.support.postgres import PostgresCluster

Backend = Literal["sqlite", "postgres"]
NAMESPACES_PER_TABLE = 0.1  # a populated catalog also has tables/10 empty namespaces to list


class Workspace:
    def __init__(self, quick: bool, keep: bool = False) -> None:
        self.quick = quick
        self.root = Path(tempfile.mkdtemp(prefix="icefloe-bench-"))
        self._keep = keep
        self._postgres: PostgresCluster | None = None
        self._populated: dict[tuple[int, Backend], PopulatedCatalog] = {}
        self.populate_seconds: dict[str, float] = {}

    def directory(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.root))

    @property
    def postgres(self) -> PostgresCluster:
        if self._postgres is None:
            self._postgres = start_postgres()
        return self._postgres

    def postgres_facts(self) -> dict[str, str] | None:
        return postgres_facts(self._postgres) if self._postgres else None

    def database_url(self, backend: Backend) -> str | None:
        """A fresh, empty database; None means the catalog's default SQLite file."""
        return self.postgres.create_database() if backend == "postgres" else None

    def populated(self, tables: int, backend: Backend = "sqlite") -> PopulatedCatalog:
        if (tables, backend) not in self._populated:
            started = time.perf_counter()
            self._populated[tables, backend] = populate(
                self.directory(f"populated-{backend}-{tables}"),
                self.database_url(backend),
                tables,
                namespaces=int(tables * NAMESPACES_PER_TABLE),
            )
            key = str(tables) if backend == "sqlite" else f"{tables} {backend}"
            self.populate_seconds[key] = time.perf_counter() - started
        return self._populated[tables, backend]

    def close(self) -> None:
        if self._postgres is not None:
            self._postgres.stop()
        if not self._keep:
            shutil.rmtree(self.root, ignore_errors=True)
