"""PUT/GET throughput of the embedded S3 endpoint, next to local disk and moto's server.

    python tests/benchmarks/bench_s3.py [--out results.json] [--quick] [--no-fsync]

Both servers run as subprocesses on 127.0.0.1; the client is boto3 with its default
configuration (what users get).  "disk" writes the same bytes to a local file (with
fsync, like the endpoint) and reads them back.  Figures are MiB/s; ratios are ours
divided by the other.  Nothing here asserts on timings: it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

MiB = 1024 * 1024
KEY_ID, SECRET = "BENCHROOTKEY", "bench-secret-not-for-production"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


@contextmanager
def server(command: list[str], port: int) -> Iterator[None]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def client(url: str, key: str, secret: str, region: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def timed(repeat: int, action: Callable[[int], None]) -> float:
    """Median seconds of `repeat` runs (after one warm-up)."""
    action(-1)
    samples = []
    for i in range(repeat):
        started = time.perf_counter()
        action(i)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench_s3(s3: Any, bucket: str, data: bytes, repeat: int) -> tuple[float, float]:
    s3.create_bucket(Bucket=bucket)

    def put(i: int) -> None:
        s3.put_object(Bucket=bucket, Key=f"obj-{i}", Body=data)

    def get(i: int) -> None:
        body = s3.get_object(Bucket=bucket, Key=f"obj-{max(i, 0)}")["Body"]
        while body.read(4 * MiB):
            pass

    return timed(repeat, put), timed(repeat, get)


def bench_disk(directory: Path, data: bytes, repeat: int) -> tuple[float, float]:
    def put(i: int) -> None:
        with (directory / f"obj-{i}").open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def get(i: int) -> None:
        with (directory / f"obj-{max(i, 0)}").open("rb") as handle:
            while handle.read(4 * MiB):
                pass

    return timed(repeat, put), timed(repeat, get)


def versions() -> dict[str, str]:
    found = {}
    for name in ("boto3", "botocore", "moto", "uvicorn", "starlette", "uvloop", "httptools"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-fsync", action="store_true", help="run the endpoint without fsync")
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the server-RSS measurement (bench_s3_memory.py: 2 GiB, 256 MiB with --quick)",
    )
    args = parser.parse_args()
    sizes = {"1MiB": (MiB, 5 if args.quick else 30), "64MiB": (64 * MiB, 2 if args.quick else 5)}
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        ours_port, moto_port = free_port(), free_port()
        ours_cmd = [
            sys.executable,
            "-m",
            "storage.s3",
            "--data-dir",
            f"{tmp}/data",
            "--port",
            str(ours_port),
            "--access-key-id",
            KEY_ID,
            "--secret-access-key",
            SECRET,
            "--log-level",
            "warning",
        ]
        if args.no_fsync:
            ours_cmd.append("--no-fsync")
        moto_cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)]
        disk_dir = Path(tmp) / "disk"
        disk_dir.mkdir()
        with server(ours_cmd, ours_port), server(moto_cmd, moto_port):
            ours = client(f"http://127.0.0.1:{ours_port}", KEY_ID, SECRET, "auto")
            moto = client(f"http://127.0.0.1:{moto_port}", "testing", "testing", "us-east-1")
            for label, (size, repeat) in sizes.items():
                data = os.urandom(size)
                rows = {
                    "icefloe": bench_s3(ours, f"bench-{label.lower()}", data, repeat),
                    "moto": bench_s3(moto, f"bench-{label.lower()}", data, repeat),
                    "disk": bench_disk(disk_dir, data, repeat),
                }
                for target, (put_s, get_s) in rows.items():
                    results.setdefault(label, {})[f"{target}_put_mib_s"] = size / MiB / put_s
                    results[label][f"{target}_get_mib_s"] = size / MiB / get_s
                r = results[label]
                for op in ("put", "get"):
                    r[f"{op}_vs_disk"] = r[f"icefloe_{op}_mib_s"] / r[f"disk_{op}_mib_s"]
                    r[f"{op}_vs_moto"] = r[f"icefloe_{op}_mib_s"] / r[f"moto_{op}_mib_s"]
                r["repeat"] = repeat
    report = {
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "versions": versions(),
        },
        "fsync": not args.no_fsync,
        "client": "boto3 put_object/get_object, default config",
        "results": results,
    }
    if not args.no_memory:
        from bench_s3_memory import measure

        report["memory"] = measure((256 if args.quick else 2048) * MiB, fsync=not args.no_fsync)
    print(
        f"{'size':<7}{'op':<5}{'icefloe':>10}{'moto':>10}{'disk':>10}{'vs disk':>9}{'vs moto':>9}"
    )
    for label, r in results.items():
        for op in ("put", "get"):
            print(
                f"{label:<7}{op:<5}{r[f'icefloe_{op}_mib_s']:>10.1f}{r[f'moto_{op}_mib_s']:>10.1f}"
                f"{r[f'disk_{op}_mib_s']:>10.1f}{r[f'{op}_vs_disk']:>9.2f}{r[f'{op}_vs_moto']:>9.2f}"
            )
    print("MiB/s, median; machine:", json.dumps(report["machine"]))
    if "memory" in report:
        print("server RSS while moving one large object:", json.dumps(report["memory"]))
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
