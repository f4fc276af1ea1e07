"""Change events: each change to a namespace, table or view is one CloudEvent in the outbox,
delivered to webhooks (HMAC-signed, retried, dead-lettered) and NATS, paged by the admin API
and printed by `icefloe events tail` (docs/events.md).

One server (SQLite) runs a scripted workload with three sinks: a webhook that fails 30% of
its requests, one that always fails (dead-lettered after a few quick attempts) and NATS with
a subscriber. The tests then read what each side saw.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from catalog.events.types import CloudEvent
from tests.reliability.chain import change, create_table, load
from tests.support.nats import nats_server
from tests.support.server import CatalogServer
from tests.support.webhook import Receiver, webhook_receiver

SECRET = b"flaky-secret"
MAX_ATTEMPTS = 10
VIEW = {
    "name": "v",
    "schema": {"type": "struct", "schema-id": 0, "fields": []},
    "view-version": {
        "version-id": 1,
        "timestamp-ms": 1,
        "schema-id": 0,
        "summary": {},
        "representations": [{"type": "sql", "sql": "select 1", "dialect": "spark"}],
        "default-namespace": [],
    },
    "properties": {},
}


@dataclass
class Subscriber:
    """A NATS subscriber on `icefloe.events.>` in its own thread and event loop."""

    url: str
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        client = await nats.connect(self.url)

        async def take(message: Any) -> None:
            self.messages.append((message.subject, json.loads(message.data)))

        await client.subscribe("icefloe.events.>", cb=take)
        await client.flush()
        self.ready.set()
        while not self.stop.is_set():
            await asyncio.sleep(0.05)
        await client.close()


@dataclass
class Scenario:
    server: CatalogServer
    flaky: Receiver
    broken: Receiver
    subscriber: Subscriber
    events: list[dict[str, Any]]
    refused: dict[str, int]


def admin(server: CatalogServer) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/admin/v1", headers=server.auth_headers, timeout=30)


def all_events(server: CatalogServer) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    with admin(server) as client:
        while True:
            page = client.get("/events", params={"after": after, "limit": 7}).json()
            events += page["events"]
            if not page["events"]:
                return events
            after = page["next-after"]


def eventually(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def workload(server: CatalogServer) -> dict[str, int]:
    """Every kind of change once or more, and two refused commits; returns their statuses."""
    with server.rest_client() as http:
        assert http.post("/namespaces", json={"namespace": ["ev"]}).status_code == 200
        response = http.post("/namespaces/ev/properties", json={"updates": {"owner": "me"}})
        assert response.status_code == 200
        metadata = create_table(http, "ev", "t")
        for n in (1, 2, 3):
            response = http.post("/namespaces/ev/tables/t", json=change(metadata, n, {"n": str(n)}))
            assert response.status_code == 200, response.text
            metadata = response.json()["metadata"]
        stale = change(metadata, 99, {})
        stale["requirements"][1]["snapshot-id"] = 1  # main is at 3 now
        conflict = http.post("/namespaces/ev/tables/t", json=stale).status_code
        bad = change(metadata, 98, {})
        bad["updates"][1]["snapshot-id"] = 12345  # main to a snapshot that does not exist
        bad_update = http.post("/namespaces/ev/tables/t", json=bad).status_code
        rename = {"source": {"namespace": ["ev"], "name": "t"}}
        response = http.post(
            "/tables/rename", json={**rename, "destination": {"namespace": ["ev"], "name": "t2"}}
        )
        assert response.status_code == 204, response.text
        location, _ = load(http, "ev", "t2")
        assert http.post("/namespaces/ev/views", json=VIEW).status_code == 200
        view = http.get("/namespaces/ev/views/v").json()["metadata"]
        replace = {
            "requirements": [{"type": "assert-view-uuid", "uuid": view["view-uuid"]}],
            "updates": [{"action": "set-properties", "updates": {"k": "v"}}],
        }
        assert http.post("/namespaces/ev/views/v", json=replace).status_code == 200
        response = http.post(
            "/views/rename",
            json={
                "source": {"namespace": ["ev"], "name": "v"},
                "destination": {"namespace": ["ev"], "name": "v2"},
            },
        )
        assert response.status_code == 204, response.text
        assert http.delete("/namespaces/ev/views/v2").status_code == 204
        assert http.delete("/namespaces/ev/tables/t2").status_code == 204
        response = http.post(
            "/namespaces/ev/register", json={"name": "back", "metadata-location": location}
        )
        assert response.status_code == 200, response.text
        assert http.delete("/namespaces/ev/tables/back").status_code == 204
        assert http.delete("/namespaces/ev").status_code == 204
    return {"conflict": conflict, "bad update": bad_update}


EXPECTED_TYPES = [
    "namespace.created",
    "namespace.updated",
    "table.created",
    "table.committed",
    "table.committed",
    "table.committed",
    "table.renamed",
    "view.created",
    "view.replaced",
    "view.renamed",
    "view.dropped",
    "table.dropped",
    "table.registered",
    "table.dropped",
    "namespace.dropped",
]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with (
        webhook_receiver(SECRET, failure_rate=0.3) as flaky,
        webhook_receiver(b"other", failure_rate=1.0) as broken,
        nats_server() as nats_url,
    ):
        subscriber = Subscriber(nats_url)
        thread = threading.Thread(target=subscriber.run, daemon=True)
        thread.start()
        assert subscriber.ready.wait(20)
        hooks = [
            {"name": "flaky", "url": flaky.url, "secret": SECRET.decode()},
            {"name": "broken", "url": broken.url, "secret": "other"},
        ]
        env = {
            "ICEFLOE_EVENT_WEBHOOKS": json.dumps(hooks),
            "ICEFLOE_EVENT_NATS_URL": nats_url,
            "ICEFLOE_EVENT_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "ICEFLOE_EVENT_RETRY_SECONDS": "0.02",
            "ICEFLOE_EVENT_RETRY_MAX_SECONDS": "0.1",
            "ICEFLOE_EVENT_POLL_SECONDS": "0.1",
        }
        server = CatalogServer(tmp_path_factory.mktemp("events"), env=env).start()
        try:
            refused = workload(server)
            eventually(lambda: len(all_events(server)) >= len(EXPECTED_TYPES))
            events = all_events(server)
            yield Scenario(server, flaky, broken, subscriber, events, refused)
        finally:
            server.stop()
            subscriber.stop.set()
            thread.join(10)


def test_each_change_is_one_cloudevent_of_its_type_and_a_refused_commit_none(
    scenario: Scenario,
) -> None:
    assert scenario.refused == {"conflict": 409, "bad update": 400}
    types = [e["type"].removeprefix("io.icefloe.") for e in scenario.events]
    assert types == EXPECTED_TYPES
    for event in scenario.events:
        parsed = CloudEvent.model_validate(event)
        assert parsed.specversion == "1.0"
        assert parsed.datacontenttype == "application/json"
        assert parsed.source == f"{scenario.server.url}/v1/default"
    assert len({e["id"] for e in scenario.events}) == len(scenario.events)
    commits = [e for e in scenario.events if e["type"] == "io.icefloe.table.committed"]
    assert [c["data"]["snapshots"][0]["snapshot-id"] for c in commits] == [1, 2, 3]
    assert all(c["data"]["snapshots"][0]["summary"]["operation"] == "append" for c in commits)
    assert [c["subject"] for c in commits] == ["ev.t"] * 3
    renamed = scenario.events[EXPECTED_TYPES.index("table.renamed")]
    assert renamed["subject"] == "ev.t2"
    assert renamed["data"]["from"] == {"namespace": ["ev"], "name": "t"}
    # One table is one stream, through its rename: created, 3 commits, renamed, dropped.
    created = scenario.events[2]
    stream = [e["type"] for e in scenario.events if e["partitionkey"] == created["partitionkey"]]
    assert len(stream) == 6


def test_a_webhook_failing_30_percent_still_gets_every_event_in_order_with_a_valid_hmac(
    scenario: Scenario,
) -> None:
    flaky = scenario.flaky
    eventually(lambda: flaky.ids() >= {e["id"] for e in scenario.events})
    assert flaky.refused > 0, "the receiver never failed: the retries were not exercised"
    assert flaky.bad_signatures == 0
    by_stream: dict[str, list[str]] = {}
    for event in scenario.events:
        by_stream.setdefault(event["partitionkey"], []).append(event["id"])
    with flaky.lock:
        received = list(flaky.received)
    for stream, ids in by_stream.items():
        seen: list[str] = []
        for event in received:
            if event["partitionkey"] == stream and event["id"] not in seen:
                seen.append(event["id"])
        assert seen == ids, f"stream {stream} out of order"


def test_a_nats_subscriber_receives_every_event(scenario: Scenario) -> None:
    ids = {e["id"] for e in scenario.events}
    eventually(lambda: {m["id"] for _, m in scenario.subscriber.messages} >= ids)
    subjects = {m["id"]: s for s, m in scenario.subscriber.messages}
    commit = next(e for e in scenario.events if e["type"] == "io.icefloe.table.committed")
    assert subjects[commit["id"]] == "icefloe.events.table.committed"


def test_an_event_a_sink_gave_up_on_is_listed_as_dead_letter(scenario: Scenario) -> None:
    def dead() -> list[dict[str, Any]]:
        with admin(scenario.server) as client:
            response = client.get("/events/dead-letters", params={"sink": "broken", "limit": 1000})
            assert response.status_code == 200
            letters: list[dict[str, Any]] = response.json()["dead-letters"]
            return letters

    eventually(lambda: len(dead()) == len(scenario.events))
    letters = dead()
    assert [d["event"]["id"] for d in letters] == [e["id"] for e in scenario.events]
    assert {d["attempts"] for d in letters} == {MAX_ATTEMPTS}
    assert {d["last-error"] for d in letters} == {"HTTP 500"}
    assert scenario.broken.received == []
    with admin(scenario.server) as client:
        flaky = client.get("/events/dead-letters", params={"sink": "flaky"}).json()
    assert flaky["dead-letters"] == []


def test_the_poll_cursor_pages_without_gaps_or_repeats(scenario: Scenario) -> None:
    with admin(scenario.server) as client:
        first = client.get("/events", params={"limit": 4}).json()
        rest = client.get("/events", params={"after": first["next-after"], "limit": 1000}).json()
        assert first["events"] + rest["events"] == scenario.events
        end = client.get("/events", params={"after": rest["next-after"]}).json()
        assert end == {"events": [], "next-after": rest["next-after"]}
        assert client.get("/events", params={"after": -1}).status_code == 400


def test_events_tail_prints_the_events(scenario: Scenario) -> None:
    server = scenario.server
    result = subprocess.run(
        [sys.executable, "-m", "catalog", "events", "tail", "--url", server.url],
        capture_output=True,
        text=True,
        env={"ICEFLOE_TOKEN": server.token, "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == len(scenario.events)
    assert "io.icefloe.namespace.created  ev" in lines[0]
    assert lines[3].endswith("io.icefloe.table.committed  ev.t")
    as_json = subprocess.run(
        [sys.executable, "-m", "catalog", "events", "tail", "--json", "--url", server.url],
        capture_output=True,
        text=True,
        env={"ICEFLOE_TOKEN": server.token, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert [json.loads(line)["id"] for line in as_json.stdout.splitlines()] == [
        e["id"] for e in scenario.events
    ]


def test_events_tail_follow_prints_a_new_event(scenario: Scenario, tmp_path: Path) -> None:
    server = scenario.server
    with admin(server) as client:
        end = client.get("/events", params={"after": 0, "limit": 1000}).json()["next-after"]
    out = (tmp_path / "tail.out").open("w")
    command = [sys.executable, "-m", "catalog", "events", "tail", "--follow", "--interval", "0.2"]
    tail = subprocess.Popen(
        [*command, "--url", server.url, "--after", str(end)],
        stdout=out,
        env={"ICEFLOE_TOKEN": server.token, "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    try:
        name = f"later_{uuid.uuid4().hex[:6]}"
        with server.rest_client() as h:
            assert h.post("/namespaces", json={"namespace": [name]}).status_code == 200
        eventually(lambda: name in (tmp_path / "tail.out").read_text())
        assert "namespace.created" in (tmp_path / "tail.out").read_text()
        assert "io.icefloe.table" not in (tmp_path / "tail.out").read_text()
    finally:
        tail.terminate()
        tail.wait(10)
