"""PyIceberg 0.12 and the dataframe engines that read through it: the README's PyIceberg
snippets run as written (token, OAuth2 client credentials, pandas/polars/Daft), each FileIO
(pyarrow, fsspec) writes and reads with vended credentials on the embedded store, and what
each engine reads is the same rows."""

from __future__ import annotations

import uuid
from typing import Any

import daft
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import OAuthError
from pyiceberg.table import Table

from tests.support.engines import (
    Client,
    create_token,
    local_replacements,
    oauth_replacements,
    run_python,
)
from tests.support.pyiceberg_signing import one_io_thread
from tests.support.server import CatalogServer

CITIES = pa.table(
    {
        "name": ["Oslo", "Lima", "Pune", "Accra"],
        "population": pa.array([709_000, 10_000_000, 7_000_000, None], pa.int64()),
    }
)
BIG = [
    {"name": "Lima", "population": 10_000_000},
    {"name": "Pune", "population": 7_000_000},
]
FILE_IO = {
    "pyarrow": "pyiceberg.io.pyarrow.PyArrowFileIO",
    "fsspec": "pyiceberg.io.fsspec.FsspecFileIO",
}


def by_name(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: row["name"])


@pytest.fixture
def catalog(embedded_server: CatalogServer) -> RestCatalog:
    """The README's pyiceberg-token block, run as written."""
    scope = run_python("pyiceberg-token", local_replacements(embedded_server))
    catalog: RestCatalog = scope["catalog"]
    return catalog


@pytest.fixture
def cities(catalog: RestCatalog) -> Table:
    ns = f"p_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(ns)
    table: Table = catalog.create_table(f"{ns}.cities", schema=CITIES.schema)
    table.append(CITIES)
    return table


def test_readme_token_and_dataframe_snippets_run_as_written(
    embedded_server: CatalogServer, capsys: pytest.CaptureFixture[str]
) -> None:
    scope = run_python("pyiceberg-token", local_replacements(embedded_server))
    catalog: RestCatalog = scope["catalog"]
    catalog.create_namespace_if_not_exists("demo")
    catalog.create_table_if_not_exists("demo.cities", schema=CITIES.schema).overwrite(CITIES)
    capsys.readouterr()

    run_python("pyiceberg-dataframes", {}, scope)

    printed = capsys.readouterr().out
    # pandas, polars (twice) and Daft each printed the two big cities, and nothing else
    assert printed.count("Lima") == 4 and printed.count("Pune") == 4
    assert "Oslo" not in printed and "Accra" not in printed


def test_readme_oauth2_snippet_exchanges_client_credentials(
    embedded_server: CatalogServer, cities: Table
) -> None:
    client = create_token(embedded_server, "read-write")
    scope = run_python("pyiceberg-oauth2", oauth_replacements(embedded_server, client))
    catalog: RestCatalog = scope["catalog"]
    ns = cities.name()[0]
    assert (ns,) in catalog.list_namespaces()
    table = catalog.load_table(f"{ns}.cities")
    table.append(CITIES.slice(0, 1))
    assert catalog.load_table(f"{ns}.cities").scan().to_arrow().num_rows == 5

    wrong = Client(id=client.id, secret="wrong", bearer="")
    with pytest.raises(OAuthError, match="invalid_client"):
        run_python("pyiceberg-oauth2", oauth_replacements(embedded_server, wrong))


def test_pandas_polars_and_daft_read_the_same_rows_through_the_catalog(cities: Table) -> None:
    scan = cities.scan(row_filter="population > 1000000")
    from_pandas = scan.to_pandas()
    assert isinstance(from_pandas, pd.DataFrame)
    assert by_name(from_pandas.to_dict("records")) == BIG

    assert by_name(scan.to_polars().to_dicts()) == BIG
    s3 = {key: value for key, value in cities.io.properties.items() if key.startswith("s3.")}
    assert s3["s3.session-token"], "the table came with vended credentials"
    lazy = pl.scan_iceberg(cities, storage_options=s3).filter(pl.col("population") > 1_000_000)
    assert by_name(lazy.collect().to_dicts()) == BIG

    frame = daft.read_iceberg(cities).where(daft.col("population") > 1_000_000)
    assert by_name(frame.to_pylist()) == BIG
    assert daft.read_iceberg(cities).count_rows() == 4


def test_pandas_polars_and_daft_append_and_read_an_earlier_snapshot(
    catalog: RestCatalog, cities: Table
) -> None:
    first = cities.current_snapshot()
    assert first is not None
    schema = CITIES.schema
    pandas_rows = pd.DataFrame({"name": ["Bern"], "population": [134_000]})
    cities.append(pa.Table.from_pandas(pandas_rows, schema=schema, preserve_index=False))
    polars_rows = pl.DataFrame({"name": ["Cork"], "population": [224_000]})
    polars_rows.write_iceberg(catalog.load_table(cities.name()), mode="append")
    daft_rows = daft.from_pydict({"name": ["Doha"], "population": [1_200_000]})
    written = daft_rows.write_iceberg(catalog.load_table(cities.name())).to_pydict()
    assert written["operation"] == ["ADD"]

    table = catalog.load_table(cities.name())
    assert {row["name"] for row in table.scan().to_arrow().to_pylist()} == {
        "Oslo",
        "Lima",
        "Pune",
        "Accra",
        "Bern",
        "Cork",
        "Doha",
    }
    assert len(table.snapshots()) == 4
    original = by_name(CITIES.to_pylist())
    # pandas holds the null population as NaN, so the names stand for the rows here
    earlier_in_pandas = table.scan(snapshot_id=first.snapshot_id).to_pandas()
    assert sorted(earlier_in_pandas["name"]) == [row["name"] for row in original]
    s3 = {key: value for key, value in table.io.properties.items() if key.startswith("s3.")}
    earlier = pl.scan_iceberg(table, snapshot_id=first.snapshot_id, storage_options=s3)
    assert by_name(earlier.collect().to_dicts()) == original
    assert by_name(daft.read_iceberg(table, snapshot_id=first.snapshot_id).to_pylist()) == original


@pytest.mark.parametrize("io", sorted(FILE_IO))
def test_each_file_io_writes_and_reads_with_vended_credentials(
    embedded_server: CatalogServer, cities: Table, io: str
) -> None:
    catalog = RestCatalog(
        f"io-{io}",
        uri=embedded_server.url,
        warehouse="default",
        token=embedded_server.token,
        **{"py-io-impl": FILE_IO[io]},
    )
    table = catalog.load_table(cities.name())
    assert f"{type(table.io).__module__}.{type(table.io).__name__}" == FILE_IO[io]
    assert table.io.properties["s3.session-token"]
    assert "s3.access-key-id" not in catalog.properties, "no storage keys of the client's own"

    table.append(pa.table({"name": [f"{io}-town"], "population": pa.array([1], pa.int64())}))
    table.delete(delete_filter="name == 'Oslo'")
    rows = catalog.load_table(cities.name()).scan().to_arrow().to_pylist()
    assert {row["name"] for row in rows} == {"Lima", "Pune", "Accra", f"{io}-town"}
    # the other FileIO reads the same rows from what this one wrote
    other = next(name for name in FILE_IO if name != io)
    reader = RestCatalog(
        f"io-{other}",
        uri=embedded_server.url,
        warehouse="default",
        token=embedded_server.token,
        **{"py-io-impl": FILE_IO[other]},
    )
    assert by_name(reader.load_table(cities.name()).scan().to_arrow().to_pylist()) == by_name(rows)


def test_remote_signing_uses_the_fsspec_file_io_whatever_the_client_asked(
    embedded_server: CatalogServer, cities: Table
) -> None:
    """PyIceberg's pyarrow FileIO cannot sign through a REST signer; for remote signing the
    catalog's table config names the fsspec FileIO, which can."""
    catalog = RestCatalog(
        "signing-pyarrow",
        uri=embedded_server.url,
        warehouse="default",
        token=embedded_server.token,
        **{
            "py-io-impl": FILE_IO["pyarrow"],
            "header.X-Iceberg-Access-Delegation": "remote-signing",
        },
    )
    table = catalog.load_table(cities.name())
    assert type(table.io).__name__ == "FsspecFileIO"
    assert "s3.session-token" not in table.io.properties
    with one_io_thread():  # PyIceberg's own signing race: tests/support/pyiceberg_signing.py
        table.append(CITIES.slice(0, 1))
        assert catalog.load_table(cities.name()).scan().to_arrow().num_rows == 5
