"""The catalog's Prometheus metrics: one definition each, recorded where the thing happens.

Labels are bounded by construction: an operation is the spec's operationId (or a route's name),
never a raw path; a status is an HTTP status; a vendor, job or outcome is one of a few words.

With `serve --workers N` every worker records into memory-mapped files under
`<data dir>/metrics/<server pid>/` (prometheus_client's multiprocess mode, switched on by
`PROMETHEUS_MULTIPROC_DIR`, which the server sets before it spawns its workers) and a scrape,
whichever worker answers it, sums them. A single-process server keeps them in memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
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
from sqlalchemy import Engine, event

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

_request_children: dict[tuple[str, int], tuple[Any, Any]] = {}


def observe_request(operation: str, status: int, seconds: float) -> None:
    """One answered request. The labelled children are looked up once per (operation, status):
    this runs on every request, loadTable's fast path included."""
    children = _request_children.get((operation, status))
    if children is None:
        children = (REQUESTS.labels(operation, str(status)), REQUEST_SECONDS.labels(operation))
        _request_children[(operation, status)] = children
    children[0].inc()
    children[1].observe(seconds)


def commit_outcome(error: BaseException | None) -> str:
    if error is None:
        return "landed"
    if isinstance(error, CommitFailed):
        return "conflict"
    if isinstance(error, CatalogError) and error.status < 500:
        return "refused"
    return "failed"


def watch_pool(engine: Engine) -> None:
    """Keep the pool gauges current from the pool's own checkout and checkin events."""
    pool: Any = engine.pool
    with contextlib.suppress(AttributeError, TypeError):  # pools without a fixed size
        POOL_SIZE.inc(pool.size() + max(pool._max_overflow, 0))
    event.listen(pool, "checkout", _checked_out)
    event.listen(pool, "checkin", _checked_in)


def _checked_out(*_: Any) -> None:
    POOL_CHECKED_OUT.inc()


def _checked_in(*_: Any) -> None:
    POOL_CHECKED_OUT.dec()


def exposition() -> bytes:
    """The text a scrape gets: every worker's figures summed in multiprocess mode."""
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
