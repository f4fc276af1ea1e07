"""The README's production blocks (a catalog in front of R2 or S3) cannot reach a real R2
account here; they run against a local catalog with only the address and the token put in, so
every option they pass is known to be accepted and the data is read with vended credentials."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.support.engines import (
    PRODUCTION_TOKEN,
    PRODUCTION_URI,
    create_embedded_warehouse,
    create_token,
    run_python,
    run_sql,
)
from tests.support.readme import snippets
from tests.support.server import CatalogServer

ORDERS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "amount": pa.array([50.0, 150.0, 999.5])})


@pytest.fixture
def analytics(embedded_server: CatalogServer) -> str:
    """The blocks' warehouse `analytics` with `sales.orders`, and a read-only token for it."""
    create_embedded_warehouse(embedded_server, "analytics")
    admin = RestCatalog(
        "admin", uri=embedded_server.url, warehouse="analytics", token=embedded_server.token
    )
    admin.create_namespace_if_not_exists("sales")
    admin.create_table_if_not_exists("sales.orders", schema=ORDERS.schema).overwrite(ORDERS)
    return create_token(embedded_server, "read-only", warehouse="analytics").bearer


def test_pyiceberg_production_block_reads_with_a_token_and_vended_credentials(
    embedded_server: CatalogServer,
    analytics: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ICEFLOE_TOKEN", analytics)
    scope = run_python("pyiceberg-r2", {PRODUCTION_URI: embedded_server.url})
    assert capsys.readouterr().out.strip() == "2"
    assert scope["orders"].io.properties["s3.session-token"]


def test_duckdb_production_block_reads_with_a_token_and_vended_credentials(
    embedded_server: CatalogServer, analytics: str
) -> None:
    _, rows = run_sql(
        "duckdb-r2", {PRODUCTION_URI: embedded_server.url, PRODUCTION_TOKEN: analytics}
    )
    assert rows == [(2,)]


ENGINES = ("pyiceberg", "duckdb", "spark")


def test_every_readme_engine_block_is_run_by_a_test() -> None:
    """A block added to the README without a test fails here (the tests name them)."""
    tests = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
    engine_blocks = {name for name in snippets() if name.split("-")[0] in ENGINES}
    assert engine_blocks
    for name in sorted(engine_blocks):
        assert f'"{name}"' in tests, f"README snippet {name} is run by no test in tests/clients"
