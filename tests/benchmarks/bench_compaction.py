"""Peak memory of compacting a table of many small files.

    python tests/benchmarks/bench_compaction.py [--size-mib 2048] [--target-mib 128]
                                                [--file-mib 1] [--quick] [--out results.json]

A catalog server (`icefloe serve`, file warehouse) holds a table whose current snapshot has
`size-mib` of small Parquet files (`file-mib` each; random values, so Parquet barely compresses
them). The compaction runs in a child process (`run_job`, in-process against the server's own
database, as the control plane runs it); the child reports its RSS just before the job (idle:
imports, the service context and the loaded table) and its RSS high-water mark
(`getrusage(RUSAGE_SELF).ru_maxrss`) after it.

Baseline, measured in the same run: another child that reads the whole input into memory at
once with pyarrow (`pq.read_table` of every file), i.e. what a naive rewrite would need.

The bound claimed: peak RSS <= idle + 4 x target file size + 256 MiB, whatever the input
size. The engine holds one bin (at most the target size of Parquet input) decoded in Arrow,
its sorted copy and the Parquet writer's buffers; bins are processed one after another. The
constant is what the allocator keeps: under Arrow's default pool (mimalloc) each reader
thread retains freed pages, so RSS creeps up over the first bins and then levels off;
`--arrow-pool jemalloc` (ARROW_DEFAULT_MEMORY_POOL for the children) shows the flat curve.
`--quick` uses 200 MiB of input and a 32 MiB target (several bins, so the bound is exercised).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

MiB = 1024 * 1024
BOUND_TARGETS = 4
BOUND_CONSTANT = 256 * MiB
NAMESPACE = "bench"
TABLE = "events"


def mib(value: float) -> float:
    return round(value / MiB, 1)


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def small_file(rows: int, start: int, rng: np.random.Generator) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(np.arange(start, start + rows, dtype=np.int64)),
            "value": pa.array(rng.random(rows)),
            "tag": pa.array(rng.integers(0, 2**62, rows).astype(str)),
        }
    )


def write_input(folder: Path, size: int, file_size: int) -> list[str]:
    """Parquet files of about `file_size` until `size` bytes are written."""
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True)
    rows = 1000
    probe = folder / "probe.parquet"
    pq.write_table(small_file(rows, 0, rng), probe)
    rows = max(1000, int(rows * file_size / probe.stat().st_size))
    probe.unlink()
    paths: list[str] = []
    written = 0
    while written < size:
        path = folder / f"part-{len(paths):05d}.parquet"
        pq.write_table(small_file(rows, len(paths) * rows, rng), path)
        written += path.stat().st_size
        paths.append(path.as_uri())
    return paths


def child(args: argparse.Namespace) -> None:
    """Runs in the measured process: the compaction, or the read-everything baseline."""
    process = psutil.Process()
    if args.child == "read-all":
        paths = json.loads(Path(args.paths).read_text())
        idle = process.memory_info().rss
        started = time.perf_counter()
        rows = pq.read_table([p.removeprefix("file://") for p in paths]).num_rows
        report: dict[str, Any] = {"rows": rows}
    else:
        from catalog.maintenance.engine import context_from_settings, run_job
        from catalog.maintenance.jobs import JobKind, MaintenancePolicy, TableRef
        from catalog.maintenance.service_catalog import ServiceCatalog
        from catalog.settings import Settings

        context = context_from_settings(
            Settings(data_dir=Path(args.data_dir), s3_port=args.s3_port)
        )
        ServiceCatalog(context, "default").load_table((NAMESPACE, TABLE))  # warm imports
        target = args.target_mib * MiB
        policy = MaintenancePolicy(
            target_file_size_bytes=target, small_file_threshold_bytes=target * 3 // 4
        )
        idle = process.memory_info().rss
        started = time.perf_counter()
        outcome = run_job(
            context, TableRef("default", (NAMESPACE,), TABLE), JobKind.COMPACT, policy
        )
        report = {
            "files_before": outcome.files_before,
            "files_after": outcome.files_after,
            "bytes_rewritten": outcome.bytes_rewritten,
            "bins": len(outcome.details["bins"]),
        }
    report.update(
        idle_rss=idle,
        peak_rss=max_rss_bytes(),
        seconds=time.perf_counter() - started,
        arrow_pool=pa.default_memory_pool().backend_name,
    )
    print(json.dumps(report))


def measure(extra: list[str], pool: str) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), *extra]
    env = dict(os.environ)
    if pool != "default":
        env["ARROW_DEFAULT_MEMORY_POOL"] = pool
    completed = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=7200
    )
    if completed.returncode != 0:
        raise SystemExit(f"child failed:\n{completed.stdout}\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=2048, help="input size (default 2 GiB)")
    parser.add_argument("--target-mib", type=int, default=128, help="compaction target size")
    parser.add_argument("--file-mib", type=float, default=1.0, help="size of each small file")
    parser.add_argument("--quick", action="store_true", help="200 MiB input, 32 MiB target")
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    parser.add_argument(
        "--arrow-pool",
        choices=["default", "mimalloc", "jemalloc", "system"],
        default="default",
        help="Arrow memory pool of the measured processes",
    )
    parser.add_argument("--child", choices=["compact", "read-all"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--s3-port", type=int, default=9000, help=argparse.SUPPRESS)
    parser.add_argument("--paths", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    if args.quick:
        args.size_mib, args.target_mib = 200, 32

    from pyiceberg.catalog.rest import RestCatalog

    from tests.support.server import CatalogServer

    with tempfile.TemporaryDirectory(prefix="bench-compaction-") as tmp:
        server = CatalogServer(Path(tmp) / "catalog", storage="file").start()
        try:
            catalog = RestCatalog("bench", uri=server.url, warehouse="default", token=server.token)
            catalog.create_namespace(NAMESPACE)
            schema = small_file(1, 0, np.random.default_rng(0)).schema
            table = catalog.create_table(f"{NAMESPACE}.{TABLE}", schema=schema)
            started = time.perf_counter()
            folder = Path(table.location().removeprefix("file://")) / "data" / "seed"
            paths = write_input(folder, args.size_mib * MiB, int(args.file_mib * MiB))
            for at in range(0, len(paths), 500):
                table = catalog.load_table(f"{NAMESPACE}.{TABLE}")
                table.add_files(paths[at : at + 500])
            setup_seconds = time.perf_counter() - started
            input_bytes = sum(Path(p.removeprefix("file://")).stat().st_size for p in paths)
            listing = Path(tmp) / "paths.json"
            listing.write_text(json.dumps(paths))

            baseline = measure(["--child", "read-all", "--paths", str(listing)], args.arrow_pool)
            compaction = measure(
                [
                    "--child",
                    "compact",
                    "--data-dir",
                    str(server.data_dir),
                    "--s3-port",
                    str(server.s3_port),
                    "--target-mib",
                    str(args.target_mib),
                ],
                args.arrow_pool,
            )
            rows = catalog.load_table(f"{NAMESPACE}.{TABLE}").scan().count()
        finally:
            server.stop()

    target = args.target_mib * MiB
    growth = compaction["peak_rss"] - compaction["idle_rss"]
    bound = BOUND_TARGETS * target + BOUND_CONSTANT
    report = {
        "input_mib": mib(input_bytes),
        "input_files": len(paths),
        "target_mib": args.target_mib,
        "setup_seconds": round(setup_seconds, 1),
        "compaction": {
            "files_before": compaction["files_before"],
            "files_after": compaction["files_after"],
            "bins": compaction["bins"],
            "seconds": round(compaction["seconds"], 1),
            "mib_per_s": round(input_bytes / MiB / compaction["seconds"], 1),
            "idle_rss_mib": mib(compaction["idle_rss"]),
            "peak_rss_mib": mib(compaction["peak_rss"]),
            "growth_mib": mib(growth),
            "growth_per_input": round(growth / input_bytes, 3),
        },
        "baseline_read_all": {
            "idle_rss_mib": mib(baseline["idle_rss"]),
            "peak_rss_mib": mib(baseline["peak_rss"]),
            "growth_mib": mib(baseline["peak_rss"] - baseline["idle_rss"]),
            "seconds": round(baseline["seconds"], 1),
        },
        "compaction_growth_vs_read_all": round(
            growth / max(1, baseline["peak_rss"] - baseline["idle_rss"]), 3
        ),
        "rows_after": rows,
        "rows_read_all": baseline["rows"],
        "arrow_pool": compaction["arrow_pool"],
        "bound": f"peak RSS <= idle + {BOUND_TARGETS} x target + {mib(BOUND_CONSTANT)} MiB "
        f"(= idle + {mib(bound)} MiB)",
        "within_bound": growth <= bound,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    ok = report["within_bound"] and rows == baseline["rows"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
