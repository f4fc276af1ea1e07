"""The endpoint as the real Iceberg clients use it: pyarrow, s3fs, DuckDB, PyIceberg FileIO.

Each client runs twice: with the root keys, and with temporary credentials vended for
one table prefix, which is how the catalog will hand them out.
"""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from s3_harness import Endpoint

PREFIX = "warehouse/ns/tbl/"
BIG = 12 * 1024 * 1024  # above every client's multipart threshold


@dataclass
class Creds:
    access_key: str
    secret_key: str
    token: str | None


@pytest.fixture(params=["root", "vended"])
def creds(request: pytest.FixtureRequest, s3: Endpoint, bucket: str) -> Creds:
    if request.param == "root":
        return Creds(s3.access_key, s3.secret_key, None)
    assert s3.app is not None
    vended = s3.app.authority.issue(
        bucket=bucket, prefixes=[PREFIX], permission="object-read-write", ttl=timedelta(hours=1)
    )
    return Creds(vended.access_key_id, vended.secret_access_key, vended.session_token)


def table(rows: int = 10_000) -> pa.Table:
    return pa.table(
        {"id": pa.array(range(rows), pa.int64()), "name": [f"n{i}" for i in range(rows)]}
    )


def payload(size: int) -> bytes:
    block = hashlib.sha256(b"seed").digest() * 2048
    return (block * (size // len(block) + 1))[:size]


# --- pyarrow ----------------------------------------------------------------------------


def test_pyarrow_s3filesystem(s3: Endpoint, bucket: str, creds: Creds) -> None:
    fs = pafs.S3FileSystem(
        access_key=creds.access_key,
        secret_key=creds.secret_key,
        session_token=creds.token,
        endpoint_override=f"127.0.0.1:{s3.port}",
        scheme="http",
        region="auto",
        force_virtual_addressing=False,
        allow_bucket_creation=False,
    )
    base = f"{bucket}/{PREFIX}"
    pq.write_table(table(), f"{base}data/part-0.parquet", filesystem=fs)
    assert pq.read_table(f"{base}data/part-0.parquet", filesystem=fs).equals(table())
    big = payload(BIG)
    with fs.open_output_stream(f"{base}data/big.bin") as out:
        for i in range(0, len(big), 1024 * 1024):
            out.write(big[i : i + 1024 * 1024])
    with fs.open_input_file(f"{base}data/big.bin") as inp:
        assert inp.size() == BIG
        inp.seek(BIG - 10)
        assert inp.read(10) == big[-10:]
        inp.seek(0)
        assert inp.read() == big
    infos = fs.get_file_info(pafs.FileSelector(f"{base}data", recursive=True))
    assert sorted(i.base_name for i in infos) == ["big.bin", "part-0.parquet"]
    fs.delete_file(f"{base}data/big.bin")
    assert fs.get_file_info(f"{base}data/big.bin").type == pafs.FileType.NotFound


# --- s3fs -------------------------------------------------------------------------------


def _s3fs(s3: Endpoint, creds: Creds) -> Any:
    import s3fs

    return s3fs.S3FileSystem(
        key=creds.access_key,
        secret=creds.secret_key,
        token=creds.token,
        client_kwargs={"endpoint_url": s3.url, "region_name": "auto"},
        config_kwargs={"s3": {"addressing_style": "path"}},
        skip_instance_cache=True,
        use_listings_cache=False,
    )


def test_s3fs(s3: Endpoint, bucket: str, creds: Creds) -> None:
    fs = _s3fs(s3, creds)
    base = f"{bucket}/{PREFIX}"
    fs.pipe(f"{base}meta/v1.metadata.json", b'{"format-version": 2}')
    assert fs.cat(f"{base}meta/v1.metadata.json") == b'{"format-version": 2}'
    big = payload(BIG)
    with fs.open(f"{base}data/big.bin", "wb", block_size=5 * 1024 * 1024) as out:
        out.write(big)
    assert fs.info(f"{base}data/big.bin")["size"] == BIG
    assert fs.cat_file(f"{base}data/big.bin", start=100, end=200) == big[100:200]
    assert fs.cat(f"{base}data/big.bin") == big
    assert sorted(fs.find(base)) == [f"{base}data/big.bin", f"{base}meta/v1.metadata.json"]
    assert fs.ls(base, detail=False) == [f"{base}data", f"{base}meta"]
    fs.rm(f"{base}data/big.bin")
    assert not fs.exists(f"{base}data/big.bin")


# --- DuckDB httpfs ----------------------------------------------------------------------


def _httpfs_extension() -> str:
    import duckdb_extension_httpfs

    found = glob.glob(
        os.path.join(
            os.path.dirname(duckdb_extension_httpfs.__file__),
            "extensions",
            "*",
            "httpfs.duckdb_extension",
        )
    )
    if not found:
        pytest.skip("duckdb httpfs extension is not installed")
    return found[0]


def test_duckdb_httpfs_copy_to_and_read_parquet(s3: Endpoint, bucket: str, creds: Creds) -> None:
    import duckdb

    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute(f"LOAD '{_httpfs_extension()}'")
    token = f", SESSION_TOKEN '{creds.token}'" if creds.token else ""
    con.execute(
        f"CREATE SECRET icefloe (TYPE S3, KEY_ID '{creds.access_key}', SECRET '{creds.secret_key}'"
        f"{token}, ENDPOINT '127.0.0.1:{s3.port}', URL_STYLE 'path', USE_SSL false, REGION 'auto')"
    )
    base = f"s3://{bucket}/{PREFIX}duck"
    con.execute(
        f"COPY (SELECT range AS id, 'row ' || range AS name FROM range(200000)) "
        f"TO '{base}/a.parquet' (FORMAT parquet)"
    )
    con.execute(f"COPY (SELECT 7 AS id, 'x' AS name) TO '{base}/b.parquet' (FORMAT parquet)")
    count, total = con.execute(
        f"SELECT count(*), sum(id) FROM read_parquet('{base}/a.parquet')"
    ).fetchone()  # type: ignore[misc]
    assert (count, total) == (200000, sum(range(200000)))
    globbed = con.execute(f"SELECT count(*) FROM read_parquet('{base}/*.parquet')").fetchone()
    assert globbed == (200001,)
    con.close()


# --- PyIceberg FileIO -------------------------------------------------------------------


def _fileio_properties(s3: Endpoint, creds: Creds) -> dict[str, str]:
    props = {
        "s3.endpoint": s3.url,
        "s3.access-key-id": creds.access_key,
        "s3.secret-access-key": creds.secret_key,
        "s3.region": "auto",
        "s3.force-virtual-addressing": "false",
    }
    if creds.token:
        props["s3.session-token"] = creds.token
    return props


@pytest.mark.parametrize("implementation", ["pyarrow", "fsspec"])
def test_pyiceberg_fileio_writes_and_reads(
    s3: Endpoint, bucket: str, creds: Creds, implementation: str
) -> None:
    if implementation == "pyarrow":
        from pyiceberg.io.pyarrow import PyArrowFileIO as FileIO
    else:
        from pyiceberg.io.fsspec import FsspecFileIO as FileIO  # type: ignore[assignment]
    io = FileIO(properties=_fileio_properties(s3, creds))
    location = f"s3://{bucket}/{PREFIX}metadata/00000-{implementation}.metadata.json"
    data = payload(300_000)
    with io.new_output(location).create(overwrite=True) as out:
        out.write(data)
    with io.new_input(location).open() as inp:
        assert inp.read() == data
    assert len(io.new_input(location)) == len(data)
    assert io.new_input(location).exists()
    io.delete(location)
    assert not io.new_input(location).exists()


def test_vended_credentials_cannot_leave_their_prefix_with_pyarrow(
    s3: Endpoint, bucket: str, tmp_path: Path
) -> None:
    assert s3.app is not None
    vended = s3.app.authority.issue(
        bucket=bucket, prefixes=[PREFIX], permission="object-read-write", ttl=timedelta(hours=1)
    )
    fs = pafs.S3FileSystem(
        access_key=vended.access_key_id,
        secret_key=vended.secret_access_key,
        session_token=vended.session_token,
        endpoint_override=f"127.0.0.1:{s3.port}",
        scheme="http",
        region="auto",
    )
    with pytest.raises(OSError, match=r"(?i)access denied|403"):
        pq.write_table(table(10), f"{bucket}/warehouse/ns/other/x.parquet", filesystem=fs)
    del tmp_path
