"""kill -9 during concurrent large uploads: afterwards every object is absent or whole.

The server runs as a subprocess; uploads stream slowly so the kill lands mid-body, and
some overwrite keys that already hold an acknowledged version.  After a restart on the
same data dir, every key must hold exactly one version that was sent (never a mix or a
prefix), its ETag must be the MD5 of its bytes, acknowledged writes must survive, and
the startup sweep must leave no temp files or unreferenced blobs behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from s3_harness import ROOT_KEY, ROOT_SECRET, Endpoint, free_port
from s3_raw import RawS3

from storage.s3.index import BucketIndex

MiB = 1024 * 1024
BUCKET = "crash"


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "storage.s3",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--access-key-id",
            ROOT_KEY,
            "--secret-access-key",
            ROOT_SECRET,
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("server did not start")


def blob(seed: str, size: int) -> bytes:
    block = hashlib.sha256(seed.encode()).digest() * (MiB // 32)
    return (block * (size // len(block) + 1))[:size]


class Progress:
    def __init__(self) -> None:
        self.sent = 0
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.sent += n


PROGRESS = Progress()


def slow_put(raw: RawS3, path: str, data: bytes, query: list[tuple[str, str]] | None = None) -> Any:
    """PUT with UNSIGNED-PAYLOAD, trickling the body so a kill can land mid-upload."""
    headers, _, _ = raw.sign(
        "PUT",
        path,
        query or [],
        {"content-length": str(len(data))},
        "UNSIGNED-PAYLOAD",
        datetime.now(UTC),
    )
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
    conn = http.client.HTTPConnection(raw.netloc, timeout=60)
    try:
        conn.putrequest("PUT", target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        for offset in range(0, len(data), MiB):
            conn.send(data[offset : offset + MiB])
            PROGRESS.add(min(MiB, len(data) - offset))
            time.sleep(0.04)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("etag")
    except OSError:
        return None
    finally:
        conn.close()


@pytest.mark.timeout(120)
def test_kill_9_mid_upload_leaves_objects_absent_or_whole(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    server = start_server(data_dir, port)
    endpoint = Endpoint(f"http://127.0.0.1:{port}", ROOT_KEY, ROOT_SECRET, None, data_dir)
    client = endpoint.client(checksum="when_required")
    raw = endpoint.raw()
    client.create_bucket(Bucket=BUCKET)

    versions: dict[str, list[bytes]] = {}
    acknowledged: dict[str, bytes] = {}
    multipart_parts: dict[str, list[bytes]] = {}
    # Keys that already hold an acknowledged version, overwritten during the crash.
    for i in range(3):
        old = blob(f"old-{i}", 3 * MiB)
        client.put_object(Bucket=BUCKET, Key=f"single/{i}", Body=old)
        versions[f"single/{i}"] = [old]
        acknowledged[f"single/{i}"] = old

    lock = threading.Lock()

    def single(i: int) -> None:
        key = f"single/{i}"
        data = blob(f"new-{i}", 24 * MiB if i < 5 else MiB)
        with lock:
            versions.setdefault(key, []).append(data)
        result = slow_put(raw, f"/{BUCKET}/{key}", data)
        if result is not None and result[0] == 200:
            with lock:
                acknowledged[key] = data

    def multipart(i: int) -> None:
        key = f"multi/{i}"
        parts = [blob(f"mp-{i}-{n}", 5 * MiB) for n in range(3)] + [blob(f"mp-{i}-last", MiB)]
        with lock:
            multipart_parts[key] = parts
        try:
            uid = client.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
            etags = []
            for number, part in enumerate(parts, start=1):
                result = slow_put(
                    raw, f"/{BUCKET}/{key}", part, [("partNumber", str(number)), ("uploadId", uid)]
                )
                if result is None or result[0] != 200:
                    return
                etags.append(result[1])
            client.complete_multipart_upload(
                Bucket=BUCKET,
                Key=key,
                UploadId=uid,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]
                },
            )
            with lock:
                acknowledged[key] = b"".join(parts)
        except Exception:
            return

    threads = [threading.Thread(target=single, args=(i,)) for i in range(6)]
    threads += [threading.Thread(target=multipart, args=(i,)) for i in range(3)]
    total = 5 * 24 * MiB + MiB + 3 * 16 * MiB
    PROGRESS.sent = 0
    for thread in threads:
        thread.start()
    # Kill when about 40% of all bytes have been sent: uploads are then mid-body.
    deadline = time.monotonic() + 30
    while PROGRESS.sent < 0.4 * total and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    for thread in threads:
        thread.join(timeout=60)

    interrupted = [
        k
        for k in list(versions) + list(multipart_parts)
        if k not in acknowledged or (k in versions and acknowledged[k] is not versions[k][-1])
    ]
    assert interrupted, "the kill landed after every upload finished; nothing was tested"

    server = start_server(data_dir, port)
    try:
        client = endpoint.client(checksum="when_required")
        present = {o["Key"]: o for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
        for key in acknowledged:
            assert key in present, f"acknowledged write of {key} was lost"
        checked = 0
        for key, listed in present.items():
            content = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            etag = listed["ETag"].strip('"')
            if key.startswith("multi/"):
                parts = multipart_parts[key]
                assert content == b"".join(parts)
                md5s = b"".join(hashlib.md5(p).digest() for p in parts)
                assert etag == f"{hashlib.md5(md5s).hexdigest()}-{len(parts)}"
            else:
                assert content in versions[key], f"{key} holds bytes that were never sent whole"
                assert etag == hashlib.md5(content).hexdigest()
            checked += 1
        assert checked >= 3
    finally:
        server.terminate()
        server.wait(timeout=10)

    bucket_dir = data_dir / "buckets" / BUCKET
    assert list((bucket_dir / "tmp").iterdir()) == []
    index = BucketIndex(bucket_dir / "index.sqlite3", fsync=False)
    referenced = index.referenced_blobs()
    index.close()
    on_disk = {p.name for p in (bucket_dir / "blobs").glob("*/*")}
    assert on_disk == referenced
