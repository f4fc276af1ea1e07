"""Start-up, root keys, the CLI, and concurrent writers."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from s3_harness import ROOT_KEY, ROOT_SECRET, Endpoint, ThreadedUvicorn, free_port

from storage.s3 import CredentialAuthority, S3ServerConfig, create_s3_app
from storage.s3.index import BucketIndex


def test_root_keys_are_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = create_s3_app(S3ServerConfig(data_dir=tmp_path))
    first.close()
    stored = tmp_path / "root-credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert first.root_credentials.generated and first.root_credentials.stored_at == stored
    again = create_s3_app(S3ServerConfig(data_dir=tmp_path))
    again.close()
    assert not again.root_credentials.generated
    assert again.root_credentials.access_key_id == first.root_credentials.access_key_id
    assert (
        json.loads(stored.read_text())["secret_access_key"]
        == again.authority.root_secret_access_key
    )


def test_cli_prints_endpoint_and_key_id_but_never_the_secret(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "storage.s3", "--data-dir", str(tmp_path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(4)]  # type: ignore[union-attr]
    finally:
        process.terminate()
        process.wait(timeout=10)
    output = "".join(lines)
    secret = json.loads((tmp_path / "root-credentials.json").read_text())["secret_access_key"]
    assert f"http://127.0.0.1:{port}" in output
    assert "root-credentials.json" in output
    assert secret not in output


def test_credentials_from_another_authority_instance_work(s3: Endpoint, bucket: str) -> None:
    # What another process (or the catalog after a restart) would issue: no shared state.
    creds = CredentialAuthority(ROOT_KEY, ROOT_SECRET).issue(
        bucket=bucket, prefixes=["t/"], permission="object-read-write", ttl=timedelta(minutes=5)
    )
    client = s3.client(
        access_key=creds.access_key_id,
        secret_key=creds.secret_access_key,
        token=creds.session_token,
    )
    client.put_object(Bucket=bucket, Key="t/x", Body=b"x")
    assert client.get_object(Bucket=bucket, Key="t/x")["Body"].read() == b"x"


def test_concurrent_puts_to_one_key_leave_one_complete_winner(s3: Endpoint, bucket: str) -> None:
    bodies = [hashlib.sha256(str(i).encode()).digest() * (32 * 1024 + i) for i in range(8)]
    barrier = threading.Barrier(len(bodies))

    def put(body: bytes) -> None:
        client = s3.client(checksum="when_required")
        barrier.wait()
        client.put_object(Bucket=bucket, Key="contended", Body=body)

    threads = [threading.Thread(target=put, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = s3.client().get_object(Bucket=bucket, Key="contended")
    content = got["Body"].read()
    assert content in bodies
    assert got["ETag"] == f'"{hashlib.md5(content).hexdigest()}"'
    assert s3.data_dir is not None
    bucket_dir = s3.data_dir / "buckets" / bucket
    deadline = time.monotonic() + 5
    while True:
        index = BucketIndex(bucket_dir / "index.sqlite3", fsync=False)
        referenced = index.referenced_blobs()
        index.close()
        on_disk = {p.name for p in (bucket_dir / "blobs").glob("*/*")}
        if on_disk == referenced or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert on_disk == referenced, "replaced blobs were not unlinked"


def test_two_apps_in_one_process_are_independent(tmp_path: Path) -> None:
    apps = [
        create_s3_app(
            S3ServerConfig(
                data_dir=tmp_path / name,
                root_access_key_id=f"K{name}",
                root_secret_access_key=f"S{name}",
            )
        )
        for name in ("one", "two")
    ]
    try:
        with ThreadedUvicorn(apps[0]) as one, ThreadedUvicorn(apps[1]) as two:
            a = Endpoint(f"http://127.0.0.1:{one.port}", "Kone", "Sone", apps[0], None)
            b = Endpoint(f"http://127.0.0.1:{two.port}", "Ktwo", "Stwo", apps[1], None)
            a.client().create_bucket(Bucket="only-in-one")
            assert [x["Name"] for x in b.client().list_buckets()["Buckets"]] == []
            assert b.raw(access_key="Kone", secret_key="Sone").request("GET", "/").status == 403
    finally:
        for app in apps:
            app.close()


def test_keep_alive_and_abandoned_downloads(s3: Endpoint, bucket: str) -> None:
    import http.client

    s3.client().put_object(Bucket=bucket, Key="big", Body=b"x" * (20 * 1024 * 1024))
    raw = s3.raw()
    path, query = raw.presign("GET", f"/{bucket}/big")
    target = path + "?" + "&".join(f"{k}={v}" for k, v in query)
    conn = http.client.HTTPConnection(raw.netloc, timeout=30)
    conn.request("GET", target.replace("/", "/", 1))
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("connection") != "close"
    response.read(1024 * 1024)
    conn.close()  # walk away mid-body
    head = s3.client().head_object(Bucket=bucket, Key="big")
    assert head["ContentLength"] == 20 * 1024 * 1024
    assert "connection" not in head["ResponseMetadata"]["HTTPHeaders"]
