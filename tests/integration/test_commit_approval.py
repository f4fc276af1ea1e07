"""Commit approval (docs/governance.md): a warehouse's approval endpoint and built-in rules,
with PyIceberg writing, on SQLite and PostgreSQL.

The endpoint is a real HTTP server on localhost that checks each request's signature the way a
real one would, records what it was shown, and answers as the test tells it to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import ForbiddenError
from pyiceberg.types import StringType

from tests.support.server import CatalogServer

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "city": ["Oslo", "Lima", "Pune"]})
SECRET = "approval-secret-for-tests"


@dataclass
class Endpoint:
    """Answers each POST with the next of `answers` ("allow", "deny:<reason>", "sleep:<s>")."""

    answers: list[str] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def signature_valid(self, index: int, secret: str = SECRET) -> bool:
        headers, body = self.received[index]
        timestamp = headers["x-icefloe-timestamp"]
        mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(headers["x-icefloe-signature"], "sha256=" + mac.hexdigest())

    def payload(self, index: int) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.received[index][1])
        return result


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    state = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            answer = state.answers.pop(0) if state.answers else "allow"
            if answer.startswith("sleep:"):
                time.sleep(float(answer.removeprefix("sleep:")))
                answer = "allow"
            decision, _, reason = answer.partition(":")
            reply = json.dumps({"decision": decision, "reason": reason}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/approve"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Warehouse:
    name: str
    server: CatalogServer

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.server.url}/admin/v1", headers=self.server.auth_headers, timeout=30
        )

    def set_approval(self, **settings: Any) -> None:
        with self.admin() as admin:
            response = admin.put(f"/warehouses/{self.name}/approval", json=settings)
            assert response.status_code == 200, response.text

    def catalog(self, token: str | None = None) -> RestCatalog:
        return RestCatalog(
            "icefloe",
            uri=self.server.url,
            warehouse=self.name,
            token=token or self.server.token,
        )

    def token(self, permission: str) -> str:
        with self.admin() as admin:
            response = admin.post(
                "/tokens",
                json={"name": "t", "permission": permission, "warehouses": [self.name]},
            )
            assert response.status_code == 201, response.text
            token: str = response.json()["token"]
            return token

    def audit(self) -> list[dict[str, Any]]:
        with self.admin() as admin:
            events: list[dict[str, Any]] = admin.get("/audit").json()["events"]
            return events


@pytest.fixture
def warehouse(catalog_server: CatalogServer) -> Warehouse:
    """A warehouse of its own, so approval settings never reach other tests' commits."""
    name = f"appr{uuid.uuid4().hex[:8]}"
    location = (catalog_server.data_dir / "warehouse" / name).as_uri()
    response = httpx.post(
        f"{catalog_server.url}/admin/v1/warehouses",
        json={"name": name, "location": location},
        headers=catalog_server.auth_headers,
    )
    assert response.status_code == 201, response.text
    return Warehouse(name, catalog_server)


def test_endpoint_allows_one_commit_and_denies_the_next_with_its_reason(
    warehouse: Warehouse, endpoint: Endpoint
) -> None:
    catalog = warehouse.catalog()
    catalog.create_namespace("sales")
    table = catalog.create_table("sales.orders", schema=ROWS.schema)
    warehouse.set_approval(url=endpoint.url, secret=SECRET, **{"timeout-seconds": 5})
    endpoint.answers = ["allow", "deny:appends to sales.orders are frozen until Monday"]

    table.append(ROWS)
    allowed = table.metadata_location
    with pytest.raises(ForbiddenError, match=r"appends to sales\.orders are frozen until Monday"):
        table.append(ROWS)

    reloaded = catalog.load_table("sales.orders")
    assert reloaded.metadata_location == allowed
    assert reloaded.scan().to_arrow().num_rows == 3
    assert len(endpoint.received) == 2
    first = endpoint.payload(0)
    assert first["warehouse"] == warehouse.name
    assert first["changes"][0]["identifier"] == {"namespace": ["sales"], "name": "orders"}
    assert first["changes"][0]["summary"] == ["appends 1 data file (3 rows)"]
    assert {u["action"] for u in first["changes"][0]["updates"]} >= {"add-snapshot"}
    assert first["principal"]["admin"] is True
    assert endpoint.signature_valid(0) and endpoint.signature_valid(1)
    assert not endpoint.signature_valid(0, secret="some-other-secret")
    decisions = [e["operation"] for e in warehouse.audit() if e["operation"].endswith("Commit")]
    assert decisions[:2] == ["denyCommit", "approveCommit"]


def test_the_secret_is_stored_sealed_and_never_shown(
    warehouse: Warehouse, endpoint: Endpoint
) -> None:
    warehouse.set_approval(url=endpoint.url, secret=SECRET)
    with warehouse.admin() as admin:
        shown = admin.get(f"/warehouses/{warehouse.name}/approval").text
        listed = admin.get("/warehouses").text
    assert SECRET not in shown and SECRET not in listed
    assert json.loads(shown)["approval"]["secret"] == "set"


@pytest.mark.parametrize(("on_failure", "commits"), [("deny", False), ("allow", True)])
def test_an_endpoint_that_does_not_answer_in_time_refuses_or_allows_as_configured(
    warehouse: Warehouse, endpoint: Endpoint, on_failure: str, commits: bool
) -> None:
    catalog = warehouse.catalog()
    catalog.create_namespace("ops")
    table = catalog.create_table("ops.events", schema=ROWS.schema)
    before = table.metadata_location
    warehouse.set_approval(
        url=endpoint.url, secret=SECRET, **{"timeout-seconds": 0.3, "on-failure": on_failure}
    )
    endpoint.answers = ["sleep:2"]

    if commits:
        table.append(ROWS)
        assert catalog.load_table("ops.events").scan().to_arrow().num_rows == 3
    else:
        with pytest.raises(ForbiddenError, match="did not answer"):
            table.append(ROWS)
        assert catalog.load_table("ops.events").metadata_location == before


def test_builtin_rule_refuses_a_column_drop_for_a_writer_and_allows_it_for_an_admin(
    warehouse: Warehouse,
) -> None:
    admin = warehouse.catalog()
    admin.create_namespace("crm")
    admin.create_table("crm.customers", schema=ROWS.schema)
    warehouse.set_approval(rules=["drop-column", "change-partitioning"])
    writer = warehouse.catalog(warehouse.token("read-write"))

    table = writer.load_table("crm.customers")
    before = table.metadata_location
    with (
        pytest.raises(ForbiddenError, match="drops column `city`"),
        table.update_schema() as update,
    ):
        update.delete_column("city")
    assert writer.load_table("crm.customers").metadata_location == before
    with table.update_schema() as update:  # adding a column is no rule's business
        update.add_column("email", StringType())

    table = admin.load_table("crm.customers")
    with table.update_schema() as update:
        update.delete_column("city")
    assert [f.name for f in admin.load_table("crm.customers").schema().fields] == ["id", "email"]
    denied = [e for e in warehouse.audit() if e["operation"] == "denyCommit"]
    assert denied and denied[0]["target"].endswith("crm.customers")


def test_approval_settings_are_checked_when_set(warehouse: Warehouse) -> None:
    with warehouse.admin() as admin:
        path = f"/warehouses/{warehouse.name}/approval"
        assert admin.put(path, json={"rules": ["drop-table"]}).status_code == 400
        assert admin.put(path, json={"url": "http://127.0.0.1:1/x"}).status_code == 400
        assert admin.put(path, json={"url": "ftp://x/y", "secret": "s"}).status_code == 400
        assert admin.put(path, json={}).status_code == 400
        assert admin.put(path, json={"rules": ["drop-column"]}).status_code == 200
        assert admin.delete(path).status_code == 204
        assert admin.get(path).json() == {"approval": None}
