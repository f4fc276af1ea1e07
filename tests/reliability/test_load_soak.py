"""A sustained mixed workload from many clients: nothing fails, nothing leaks.

16 clients on loopback run 80% loadTable, 15% commits (set-properties, requiring only the table's
uuid, so the server retries lost races itself) and 5% list-or-create for a bounded time. The
server's resident memory and open file descriptors are sampled after a warm-up, halfway and at
the end: over the second half memory may not grow by a quarter nor descriptors by 20, once the
connection pool has filled (a leak per request would blow far past both in thousands of
requests). Every response must be a success, apart from 409s, which the spec
allows for concurrent commits. Default 20 s; `ICEFLOE_RELIABILITY_LONG=1`: 10 minutes.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import psutil

from tests.reliability.chain import LONG, LONG_TIMEOUT, client, create_table
from tests.support.server import CatalogServer

CLIENTS = 16
TABLES = 8
WARMUP_SECONDS = 3.0
SECONDS = 600.0 if LONG else 20.0
MAX_RSS_GROWTH = 0.5
MAX_FD_GROWTH = 20
POOL_CONNECTIONS = 40  # catalog.store.database: pool_size 20 + max_overflow 20

pytestmark = LONG_TIMEOUT


def sample(process: psutil.Process) -> tuple[int, int]:
    return process.memory_info().rss, process.num_fds()


def test_sustained_mixed_load_has_no_errors_and_flat_memory_and_files(tmp_path: Path) -> None:
    server = CatalogServer(tmp_path / "data").start()
    try:
        assert server.process is not None
        process = psutil.Process(server.process.pid)
        namespace = f"soak_{uuid.uuid4().hex[:8]}"
        tables = [f"t{i}" for i in range(TABLES)]
        with client(server.url, server.token) as http:
            assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
            uuids = {name: create_table(http, namespace, name)["table-uuid"] for name in tables}

        counts: Counter[str] = Counter()
        errors: list[str] = []
        lock = threading.Lock()
        measuring = threading.Event()
        stop = threading.Event()

        def worker(index: int) -> None:
            rng = random.Random(f"soak-{index}")
            local: Counter[str] = Counter()
            created = 0
            with client(server.url, server.token) as http:
                while not stop.is_set():
                    roll, name = rng.random(), rng.choice(tables)
                    if roll < 0.80:
                        kind = "load"
                        response = http.get(f"/namespaces/{namespace}/tables/{name}")
                    elif roll < 0.95:
                        kind = "commit"
                        response = http.post(
                            f"/namespaces/{namespace}/tables/{name}",
                            json={
                                "requirements": [
                                    {"type": "assert-table-uuid", "uuid": uuids[name]}
                                ],
                                "updates": [
                                    {
                                        "action": "set-properties",
                                        "updates": {f"k{rng.randrange(16)}": str(rng.random())},
                                    }
                                ],
                            },
                        )
                    elif roll < 0.975:
                        kind = "list"
                        response = http.get(f"/namespaces/{namespace}/tables")
                    else:
                        kind = "create"
                        created += 1
                        response = http.post(
                            f"/namespaces/{namespace}/tables",
                            json={
                                "name": f"new_{index}_{created}",
                                "schema": {
                                    "type": "struct",
                                    "schema-id": 0,
                                    "fields": [
                                        {"id": 1, "name": "id", "type": "long", "required": True}
                                    ],
                                },
                            },
                        )
                    status = response.status_code
                    if measuring.is_set():
                        local[f"{kind} {status}"] += 1
                    if status >= 300 and status != 409:
                        with lock:
                            errors.append(f"{kind}: {status} {response.text[:200]}")
            with lock:
                counts.update(local)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(WARMUP_SECONDS)
        rss_start, fds_start = sample(process)
        measuring.set()
        started = time.monotonic()
        peak_rss, peak_fds = rss_start, fds_start
        halfway: tuple[int, int] | None = None
        while time.monotonic() - started < SECONDS and not errors:
            time.sleep(1.0)
            rss, fds = sample(process)
            peak_rss, peak_fds = max(peak_rss, rss), max(peak_fds, fds)
            if halfway is None and time.monotonic() - started >= SECONDS / 2:
                halfway = rss, fds
        assert halfway is not None
        rss_half, fds_half = halfway
        rss_end, fds_end = sample(process)
        stop.set()
        elapsed = time.monotonic() - started
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a client hung"

        assert errors == []
        ops = sum(counts.values())
        conflicts = sum(n for key, n in counts.items() if key.endswith(" 409"))
        print(
            f"\nsoak: {ops} requests in {elapsed:.1f} s ({ops / elapsed:.0f}/s) from {CLIENTS} "
            f"clients, {conflicts} 409s; {dict(counts)}; RSS {rss_start >> 20} -> "
            f"{rss_end >> 20} MiB (halfway {rss_half >> 20}, peak {peak_rss >> 20}), fds "
            f"{fds_start} -> {fds_end} (halfway {fds_half}, peak {peak_fds})"
        )
        assert ops > 0
        assert rss_end <= rss_start * (1 + MAX_RSS_GROWTH)
        assert rss_end <= rss_half * (1 + MAX_RSS_GROWTH / 2)
        # Pools fill up early (an SQLite connection holds three files); a leak keeps growing.
        assert fds_end <= fds_half + MAX_FD_GROWTH
        assert fds_end <= fds_start + MAX_FD_GROWTH + 3 * POOL_CONNECTIONS
    finally:
        server.stop()
