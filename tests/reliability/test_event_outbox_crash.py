"""kill -9 the catalog during 200+ commits: the outbox holds exactly one event per commit that
landed, and none for a commit that was refused.

Writers commit chained snapshots 1, 2, 3, … to their own table (`chain.change`), and every
fifth commit is preceded by two that must be refused: a stale one (409, its requirement names
a snapshot that is not `main`) and a bad update (400, `main` set to a snapshot that does not
exist). The server is killed at seeded random moments and restarted on the same database
until 200 commits have landed. Then the outbox, read straight from the database, must list
for each table the `table.committed` events of exactly its snapshot chain, in order: an event
is written in the commit's own transaction, so a commit in flight at the kill has its event
if and only if it landed.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS, database_url_for
from tests.reliability.chain import Metadata, chain, change, client, create_table, load
from tests.support.server import CatalogServer

TABLES = 4
LANDED = 200
START_TIMEOUT = 180  # a busy machine; PostgreSQL starts two workers
REFUSED_BASE = 10**9  # snapshot ids of refused commits: never in a chain, never in an event


@dataclass
class Writer:
    table: str
    acked: int = 0
    in_flight: int | None = None
    refused: list[int] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def properties(self, n: int) -> dict[str, str] | None:
        """Half the tables take plain appends (their pointer moves in a transaction of its
        own), the others a property with each (in a unit of work with the search index)."""
        return None if int(self.table[1:]) % 2 else {"seq": str(n)}


def refused_pair(http: httpx.Client, path: str, metadata: Metadata, n: int, w: Writer) -> bool:
    """Send a stale commit and a bad update; False if the server is gone."""
    stale = change(metadata, REFUSED_BASE + 2 * n, {})
    stale["requirements"][1]["snapshot-id"] = REFUSED_BASE  # not main
    bad = change(metadata, REFUSED_BASE + 2 * n + 1, {})
    bad["updates"][1]["snapshot-id"] = REFUSED_BASE - 1  # main to a snapshot that is not there
    for body, status in ((stale, 409), (bad, 400)):
        try:
            response = http.post(path, json=body)
        except httpx.TransportError:
            return False
        if response.status_code != status:
            w.unexpected.append(f"refused {n}: {response.status_code} {response.text}")
        w.refused.append(body["updates"][0]["snapshot"]["snapshot-id"])
    return True


def write(http: httpx.Client, namespace: str, w: Writer, start: Metadata) -> None:
    metadata = start
    path = f"/namespaces/{namespace}/tables/{w.table}"
    while True:
        n = w.acked + 1
        if n % 5 == 0 and not refused_pair(http, path, metadata, n, w):
            return
        w.in_flight = n
        try:
            response = http.post(path, json=change(metadata, n, w.properties(n)))
        except httpx.TransportError:
            return
        if response.status_code != 200:
            w.unexpected.append(f"commit {n}: {response.status_code} {response.text}")
            w.in_flight = None
            return
        w.acked, w.in_flight = n, None
        metadata = response.json()["metadata"]


def committed_snapshots(database_url: str) -> dict[str, list[int]]:
    """Per table subject, the snapshot ids of its `table.committed` events, in outbox order."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT body FROM change_events WHERE type = :t ORDER BY id"),
                {"t": "io.icefloe.table.committed"},
            ).scalars()
            found: dict[str, list[int]] = {}
            for body in rows:
                event = json.loads(body)
                ids = [s["snapshot-id"] for s in event["data"]["snapshots"]]
                found.setdefault(event["subject"], []).extend(ids)
            return found
    finally:
        engine.dispose()


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_during_commits_leaves_one_event_per_landed_commit_and_none_for_refused(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    rng = random.Random(f"outbox-{backend}")
    database_url = database_url_for(backend, request)
    server = CatalogServer(tmp_path / "data", database_url).start(timeout=START_TIMEOUT)
    url = database_url or f"sqlite:///{tmp_path / 'data' / 'catalog.db'}"
    namespace = f"outbox_{uuid.uuid4().hex[:8]}"
    writers = [Writer(f"t{i}") for i in range(TABLES)]
    try:
        with client(server.url, server.token) as http:
            assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
            for w in writers:
                create_table(http, namespace, w.table)
        kills = 0
        while sum(w.acked for w in writers) < LANDED or kills < 3:
            assert kills < 60, "too few commits landed between kills"
            with client(server.url, server.token) as http:
                starts = [load(http, namespace, w.table)[1] for w in writers]
            clients = [client(server.url, server.token) for _ in writers]
            threads = [
                threading.Thread(target=write, args=(c, namespace, w, start))
                for c, w, start in zip(clients, writers, starts, strict=True)
            ]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.2, 2.0))
            server.kill()
            kills += 1
            for thread in threads:
                thread.join(timeout=60)
                assert not thread.is_alive(), "a writer hung after the server died"
            for c in clients:
                c.close()
            server.start(timeout=START_TIMEOUT)
            with client(server.url, server.token) as http:
                for w in writers:
                    assert not w.unexpected, w.unexpected
                    landed = chain(load(http, namespace, w.table)[1])
                    assert len(landed) in {w.acked} | ({w.in_flight} if w.in_flight else set())
                    w.acked, w.in_flight = len(landed), None

        events = committed_snapshots(url)
        total = 0
        with client(server.url, server.token) as http:
            for w in writers:
                landed = chain(load(http, namespace, w.table)[1])
                assert events.get(f"{namespace}.{w.table}", []) == landed, w.table
                assert not set(w.refused) & set(landed)
                total += len(landed)
        assert total >= LANDED
        assert sum(len(w.refused) for w in writers) > 0
        print(f"\n{backend}: {kills} kills, {total} commits landed, one event each")
    finally:
        server.stop()
