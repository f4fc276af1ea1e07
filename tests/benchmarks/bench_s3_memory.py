"""Memory of the embedded S3 endpoint while it moves one very large object.

    python tests/benchmarks/bench_s3_memory.py [--size-mib 2048] [--quick] [--out results.json]

`bench_s3.py` runs it too (2 GiB, or 256 MiB with --quick; `--no-memory` skips it) and
puts its figures under "memory" in its report.

The endpoint runs as a subprocess (`python -m storage.s3`); a thread samples its RSS
(psutil, every 20 ms).  The client is boto3 with its default configuration; the body
is generated from its offset (nothing holds the whole object on either side):

* PutObject of the whole object in one request (signed payload, CRC32 checksum);
* GetObject of it, read in 1 MiB chunks and hashed (the MD5 must equal the ETag);
* the same object through upload_fileobj (multipart, 8 MiB parts, 10 threads).

Reported: the server's RSS at idle (after start and a warm-up request), its peak RSS
in each phase, and peak / idle.  The bound checked is that the peak stays under
idle + BOUND_MIB, independent of the object size (2 GiB by default, 256 MiB with
--quick): bodies stream through 1-2 MiB batches on a 16-thread pool.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import psutil
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_s3 import KEY_ID, SECRET, free_port, wait_for

MiB = 1024 * 1024
BOUND_MIB = 128
BLOCK = hashlib.sha256(b"icefloe").digest() * (MiB // 32)  # 1 MiB


class PatternFile(io.RawIOBase):
    """`size` bytes of a repeating 1 MiB block, computed from the offset: seekable (so
    boto3 can sign and checksum it) without ever being held in memory."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.offset = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.offset

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.offset, io.SEEK_END: self.size}[whence]
        self.offset = max(0, min(self.size, base + offset))
        return self.offset

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.size - self.offset)
        done = 0
        while done < want:
            at = (self.offset + done) % MiB
            take = min(want - done, MiB - at)
            view[done : done + take] = BLOCK[at : at + take]
            done += take
        self.offset += done
        return done


class RssSampler:
    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        return int(self.process.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(self.interval)

    @contextmanager
    def phase(self) -> Iterator[RssSampler]:
        self.peak = self.rss()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self.rss())


@contextmanager
def endpoint(data_dir: Path, port: int, fsync: bool) -> Iterator[subprocess.Popen[bytes]]:
    command = [
        sys.executable,
        "-m",
        "storage.s3",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--access-key-id",
        KEY_ID,
        "--secret-access-key",
        SECRET,
        "--log-level",
        "warning",
    ]
    if not fsync:
        command.append("--no-fsync")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def mib(value: int) -> float:
    return round(value / MiB, 1)


def measure(size: int, *, fsync: bool = True) -> dict[str, Any]:
    """Start an endpoint, move one `size`-byte object through it, report its RSS."""
    port = free_port()
    with (
        tempfile.TemporaryDirectory(prefix="bench-s3-memory-") as tmp,
        endpoint(Path(tmp), port, fsync) as process,
    ):
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name="auto",
            config=Config(retries={"max_attempts": 1}, read_timeout=600),
        )
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="warm-up", Body=b"x" * MiB)
        s3.get_object(Bucket="bench", Key="warm-up")["Body"].read()
        time.sleep(1)
        sampler = RssSampler(process.pid)
        idle = max(sampler.rss() for _ in range(5))
        phases: dict[str, dict[str, float]] = {}

        def record(name: str, started: float) -> None:
            seconds = time.perf_counter() - started
            phases[name] = {
                "peak_rss_mib": mib(sampler.peak),
                "peak_over_idle": round(sampler.peak / idle, 2),
                "growth_mib": mib(sampler.peak - idle),
                "mib_per_s": round(size / MiB / seconds, 1),
            }

        with sampler.phase():
            started = time.perf_counter()
            etag = s3.put_object(Bucket="bench", Key="big", Body=PatternFile(size))["ETag"]
        record("put_object", started)

        with sampler.phase():
            started = time.perf_counter()
            body = s3.get_object(Bucket="bench", Key="big")["Body"]
            digest = hashlib.md5(usedforsecurity=False)
            received = 0
            for chunk in body.iter_chunks(MiB):
                digest.update(chunk)
                received += len(chunk)
        record("get_object", started)
        if received != size or f'"{digest.hexdigest()}"' != etag:
            raise RuntimeError("GetObject returned other bytes than were put")

        with sampler.phase():
            started = time.perf_counter()
            s3.upload_fileobj(
                PatternFile(size),
                "bench",
                "big-multipart",
                Config=TransferConfig(multipart_chunksize=8 * MiB, max_concurrency=10),
            )
        record("multipart_upload", started)

    worst = max(p["growth_mib"] for p in phases.values())
    return {
        "object_mib": size // MiB,
        "idle_rss_mib": mib(idle),
        "bound": f"peak RSS <= idle + {BOUND_MIB} MiB",
        "within_bound": worst <= BOUND_MIB,
        "phases": phases,
        "fsync": fsync,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=2048, help="object size (default 2 GiB)")
    parser.add_argument("--quick", action="store_true", help="256 MiB instead")
    parser.add_argument("--no-fsync", action="store_true", help="run the endpoint without fsync")
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    args = parser.parse_args()
    size = (256 if args.quick else args.size_mib) * MiB
    report = measure(size, fsync=not args.no_fsync)
    report["cpus"] = os.cpu_count()
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return 0 if report["within_bound"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
