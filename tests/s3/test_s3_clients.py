"""PyIceberg's FileIO implementations (pyarrow and fsspec) against the endpoint.

Each runs twice: with the root keys, and with temporary credentials vended for one
table prefix, which is how the catalog hands them out.  boto3, pyarrow's
S3FileSystem, s3fs and DuckDB run the shared behaviour suite (test_s3_behaviour.py).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from clients import Creds
from s3_harness import Endpoint

PREFIX = "warehouse/ns/tbl/"


@pytest.fixture(params=["root", "vended"])
def creds(request: pytest.FixtureRequest, s3: Endpoint, bucket: str) -> Creds:
    if request.param == "root":
        return Creds(s3.access_key, s3.secret_key, None)
    assert s3.app is not None
    vended = s3.app.authority.issue(
        bucket=bucket, prefixes=[PREFIX], permission="object-read-write", ttl=timedelta(hours=1)
    )
    return Creds(vended.access_key_id, vended.secret_access_key, vended.session_token)


def payload(size: int) -> bytes:
    block = hashlib.sha256(b"seed").digest() * 2048
    return (block * (size // len(block) + 1))[:size]


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
