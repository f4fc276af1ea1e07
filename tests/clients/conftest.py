"""Fixtures shared by the client tests."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from tests.support.engines import local_replacements, run_sql
from tests.support.server import CatalogServer


@pytest.fixture
def lake(embedded_server: CatalogServer) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB session attached as `lake` by the README's duckdb-bearer block."""
    connection, _ = run_sql("duckdb-bearer", local_replacements(embedded_server))
    yield connection
    connection.close()
