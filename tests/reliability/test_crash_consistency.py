"""kill -9 the catalog while commits stream in; after a restart nothing acknowledged is lost and
nothing unacknowledged is half there.

Each table has one writer committing 1, 2, 3, … in order (commit n adds snapshot n on top of
n - 1 and sets `seq=n`, `c<n>=1`); one more writer commits the same n to two tables at once
through a multi-table transaction. The server is killed at a seeded random moment while they
run, then restarted on the same data directory and database. Then, for every table: it loads;
its metadata file exists, parses, names the table's uuid and holds what the catalog serves;
its state is exactly commits 1..s where s is the last acknowledged commit or the one in
flight at the kill; the two transaction tables are at the same s. Default: 3 rounds per
backend; `ICEFLOE_RELIABILITY_LONG=1`: 50.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, database_url_for
from tests.reliability.chain import (
    LONG,
    LONG_TIMEOUT,
    Metadata,
    chain,
    change,
    client,
    create_table,
    load,
    read_location,
)
from tests.support.server import CatalogServer

ROUNDS = 50 if LONG else 3
TABLES = 4
PAIR = ("pair_a", "pair_b")

pytestmark = LONG_TIMEOUT


@dataclass
class Stream:
    """What one writer knows: the last commit acknowledged, and the one in flight if any."""

    tables: tuple[str, ...]
    acked: int = 0
    in_flight: int | None = None
    unexpected: list[str] = field(default_factory=list)


def properties(n: int) -> dict[str, str]:
    return {"seq": str(n), f"c{n}": "1"}


def write(http: httpx.Client, namespace: str, stream: Stream, start: dict[str, Metadata]) -> None:
    """Commit n = acked + 1, acked + 2, … until the server dies."""
    metadata = dict(start)
    while True:
        n = stream.acked + 1
        stream.in_flight = n
        try:
            if len(stream.tables) == 1:
                (name,) = stream.tables
                response = http.post(
                    f"/namespaces/{namespace}/tables/{name}",
                    json=change(metadata[name], n, properties(n)),
                )
            else:
                response = http.post(
                    "/transactions/commit",
                    json={
                        "table-changes": [
                            {
                                "identifier": {"namespace": [namespace], "name": name},
                                **change(metadata[name], n, properties(n)),
                            }
                            for name in stream.tables
                        ]
                    },
                )
        except httpx.TransportError:
            return  # the server is gone: commit n is in flight, its outcome unknown
        if response.status_code not in (200, 204):
            stream.unexpected.append(f"commit {n}: {response.status_code} {response.text}")
            stream.in_flight = None
            return
        stream.acked, stream.in_flight = n, None
        if response.status_code == 200:
            metadata[stream.tables[0]] = response.json()["metadata"]
        else:
            try:
                for name in stream.tables:
                    metadata[name] = load(http, namespace, name)[1]
            except httpx.TransportError:
                return


def check_table(http: httpx.Client, namespace: str, name: str, stream: Stream) -> int:
    """The table loads, its file is whole and agrees, and it holds exactly commits 1..s."""
    location, metadata = load(http, namespace, name)
    on_disk = json.loads(read_location(location))
    assert on_disk["table-uuid"] == metadata["table-uuid"]
    assert on_disk["properties"] == metadata["properties"]
    assert chain(on_disk) == chain(metadata)
    landed = chain(metadata)
    s = len(landed)
    allowed = {stream.acked} | ({stream.in_flight} if stream.in_flight else set())
    assert s in allowed, (name, s, stream)
    assert landed == list(range(1, s + 1)), (name, landed)
    seqs = {k for k in metadata["properties"] if k.startswith("c")}
    assert seqs == {f"c{i}" for i in range(1, s + 1)}, (name, sorted(seqs))
    assert metadata["properties"].get("seq", "0") == str(s)
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_during_commits_loses_nothing_acknowledged_and_half_applies_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    rng = random.Random(f"crash-{backend}")
    server = CatalogServer(tmp_path / "data", database_url_for(backend, request)).start()
    namespace = f"crash_{uuid.uuid4().hex[:8]}"
    try:
        with client(server.url, server.token) as http:
            assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
            streams = [Stream((f"t{i}",)) for i in range(TABLES)] + [Stream(PAIR)]
            for stream in streams:
                for name in stream.tables:
                    create_table(http, namespace, name)
        kills = 0
        for _round in range(ROUNDS):
            with client(server.url, server.token) as http:
                starts = [
                    {name: load(http, namespace, name)[1] for name in stream.tables}
                    for stream in streams
                ]
            clients = [client(server.url, server.token) for _ in streams]
            threads = [
                threading.Thread(target=write, args=(c, namespace, stream, start))
                for c, stream, start in zip(clients, streams, starts, strict=True)
            ]
            for thread in threads:
                thread.start()
            threading.Event().wait(rng.uniform(0.1, 1.5))
            server.kill()
            kills += 1
            for thread in threads:
                thread.join(timeout=60)
                assert not thread.is_alive(), "a writer hung after the server died"
            for c in clients:
                c.close()
            server.start()
            with client(server.url, server.token) as http:
                for stream in streams:
                    assert not stream.unexpected, stream.unexpected
                    levels = {check_table(http, namespace, name, stream) for name in stream.tables}
                    assert len(levels) == 1, f"transaction half applied: {stream.tables} {levels}"
                    stream.acked, stream.in_flight = levels.pop(), None
        total = sum(stream.acked for stream in streams)
        print(f"\n{backend}: {kills} kills, {total} commits landed")
        assert total > 0
    finally:
        server.stop()
