"""The catalog's Prometheus metrics: one definition each, recorded where the thing happens.

Labels are bounded by construction: an operation is the spec's operationId (or a route's name),
never a raw path; a status is an HTTP status; a vendor, job or outcome is one of a few words.

With `serve --workers N` every worker records into memory-mapped files under
`<data dir>/metrics/<server pid>/` (prometheus_client's multiprocess mode, switched on by
`PROMETHEUS_MULTIPROC_DIR`, which the server sets before it spawns its workers) and a scrape,
whichever worker answers it, sums them. A single-process server keeps them in memory.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import Engine

from catalog.exceptions import CatalogError, CommitFailed

__all__ = ["CONTENT_TYPE_LATEST"]

log = logging.getLogger("icefloe.metrics")

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's own switch: read by the library when it is first imported."""
METRICS_DIR = "metrics"

REQUESTS = Counter(
    "icefloe_http_requests",
    "Catalog API requests answered, by operation (the spec's operationId) and status.",
    ["operation", "status"],
)
REQUEST_SECONDS = Histogram(
    "icefloe_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by operation.",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
COMMITS = Counter(
    "icefloe_commits",
    "Table commits (updateTable, commitTransaction, and maintenance jobs' own) by outcome: "
    "landed, conflict (409: a requirement failed), refused (another 4xx) or failed (5xx).",
    ["outcome"],
)
COMMIT_RETRIES = Counter(
    "icefloe_commit_retries",
    "Server-side commit retries: the pointer moved but the requirements still held.",
)
VENDED_CREDENTIALS = Counter(
    "icefloe_vended_credentials",
    "Temporary storage credentials handed to clients (loadTable, createTable, "
    "loadCredentials), by vendor; one reused for a later load is not counted again, nor "
    "are those the catalog uses itself (signing, maintenance).",
    ["vendor"],
)
SIGNING_REQUESTS = Counter(
    "icefloe_signing_requests",
    "S3 remote-signing requests, by outcome: signed or refused.",
    ["outcome"],
)
MAINTENANCE_RUNS = Counter(
    "icefloe_maintenance_runs",
    "Maintenance runs by job (compact, expire, orphans) and outcome (succeeded, failed, skipped).",
    ["job", "outcome"],
)
MAINTENANCE_FILES = Counter(
    "icefloe_maintenance_files",
    "Files a maintenance run changed, by job and action (rewritten, deleted); dry runs are "
    "not counted.",
    ["job", "action"],
)
MAINTENANCE_BYTES = Counter(
    "icefloe_maintenance_bytes",
    "Bytes of data files a maintenance run rewrote, by job; dry runs are not counted.",
    ["job"],
)
PLANNING_CACHE = Counter(
    "icefloe_planning_manifest_cache",
    "Scan planning's manifest cache lookups, by result: hit or miss.",
    ["result"],
)
PLANNING_PAGES_ACTIVE = Gauge(
    "icefloe_planning_pages_active",
    "Plan tasks being planned right now (each holds at most one page of manifests), summed "
    "over workers.",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "icefloe_db_pool_size",
    "Database connections a process may hold (pool size plus overflow), summed over workers.",
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "icefloe_db_pool_checked_out",
    "Database connections in use right now, summed over workers.",
    multiprocess_mode="livesum",
)


class RequestTally:
    """Requests counted and timed in plain dicts, added to the metrics above once a second and
    before a scrape.

    This runs on every request, loadTable's fast path included. A counter and a histogram of
    prometheus_client cost about 10 microseconds per request in memory and 19 in multiprocess
    mode (each value is written through to its memory-mapped file under a lock); this costs
    3 to 5 (docs/observability.md). A scrape answered by one worker shows another worker's
    requests up to a second late; its own are current.
    """

    def __init__(self) -> None:
        self._bounds = REQUEST_SECONDS._upper_bounds
        self._pending: dict[tuple[str, int], list[Any]] = {}
        self._lock = threading.Lock()

    def observe(self, operation: str, status: int, seconds: float) -> None:
        bucket = bisect.bisect_left(self._bounds, seconds)  # buckets hold values <= bound
        with self._lock:
            entry = self._pending.get((operation, status))
            if entry is None:
                entry = self._pending[(operation, status)] = [0, 0.0, [0] * len(self._bounds)]
            entry[0] += 1
            entry[1] += seconds
            entry[2][bucket] += 1

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for (operation, status), (count, seconds, buckets) in pending.items():
            REQUESTS.labels(operation, str(status)).inc(count)
            _add_observations(REQUEST_SECONDS.labels(operation), seconds, buckets)


def _add_observations(child: Any, seconds: float, buckets: list[int]) -> None:
    """What `observe` would have done for each request, in one step: a histogram child of
    prometheus_client keeps its sum and its per-bucket counts (not cumulative) in `_sum` and
    `_buckets` (the version is pinned; tests/observability reads the buckets back)."""
    child._sum.inc(seconds)
    for index, count in enumerate(buckets):
        if count:
            child._buckets[index].inc(count)


_tally = RequestTally()
_pools: list[Any] = []
_flusher: threading.Thread | None = None
FLUSH_SECONDS = 1.0


observe_request = _tally.observe


def flush() -> None:
    """Bring this process's figures up to date: pending requests, pool use."""
    _tally.flush()
    checked_out = 0
    for pool in list(_pools):
        with contextlib.suppress(AttributeError):
            checked_out += pool.checkedout()
    POOL_CHECKED_OUT.set(checked_out)


def start_flushing() -> None:
    """A daemon thread that flushes once a second, started once per process."""
    global _flusher
    if _flusher is not None:
        return

    def run() -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                flush()
            except Exception:
                log.exception("event=metrics_flush_failed")

    _flusher = threading.Thread(target=run, name="metrics-flush", daemon=True)
    _flusher.start()


def commit_outcome(error: BaseException | None) -> str:
    if error is None:
        return "landed"
    if isinstance(error, CommitFailed):
        return "conflict"
    if isinstance(error, CatalogError) and error.status < 500:
        return "refused"
    return "failed"


def watch_pool(engine: Engine) -> None:
    """Report this engine's pool: its size now, its use at each flush (sampled there rather
    than counted on each checkout, which every request does)."""
    pool: Any = engine.pool
    with contextlib.suppress(AttributeError, TypeError):  # pools without a fixed size
        POOL_SIZE.inc(pool.size() + max(pool._max_overflow, 0))
    _pools.append(pool)


def exposition() -> bytes:
    """The text a scrape gets: every worker's figures summed in multiprocess mode."""
    flush()
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def prepare_multiprocess(data_dir: Path) -> Path:
    """Before the workers are spawned: a fresh directory for this server's metric files, set
    where the workers' prometheus_client will look. Directories left by servers that are
    gone are removed; another server's on the same data directory is left alone."""
    root = data_dir / METRICS_DIR
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.iterdir():
        if stale.is_dir() and not (stale.name.isdigit() and _alive(int(stale.name))):
            shutil.rmtree(stale, ignore_errors=True)
    own = root / str(os.getpid())
    shutil.rmtree(own, ignore_errors=True)
    own.mkdir()
    os.environ[MULTIPROCESS_ENV] = str(own)
    return own


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of an earlier server that had this pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_exited(pid: int) -> None:
    """A worker is gone: its live gauges (pool use) stop counting; its counters stay summed."""
    if os.environ.get(MULTIPROCESS_ENV):
        mark_process_dead(pid)  # type: ignore[no-untyped-call]
