"""The audit log records every write and admin action: who, what, on what, when, the request
id and the outcome — refused attempts included."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.support.payloads import commit, create_table, set_properties
from tests.support.server import CatalogServer


def test_writes_and_refusals_are_audited(catalog_server: CatalogServer, namespace: str) -> None:
    admin = catalog_server.auth_headers
    created = httpx.post(
        f"{catalog_server.url}/admin/v1/tokens",
        json={"name": "ro-audit", "permission": "read-only", "warehouses": ["default"]},
        headers=admin,
    ).json()
    reader = {"Authorization": f"Bearer {created['token']}"}
    ok = httpx.post(
        f"{catalog_server.url}/v1/default/namespaces/{namespace}/properties",
        json={"updates": {"audited": "yes"}},
        headers={**admin, "X-Request-Id": "req-allowed"},
    )
    assert ok.status_code == 200
    refused = httpx.delete(
        f"{catalog_server.url}/v1/default/namespaces/{namespace}",
        headers={**reader, "X-Request-Id": "req-refused"},
    )
    assert refused.status_code == 403
    httpx.get(f"{catalog_server.url}/v1/default/namespaces/{namespace}", headers=admin)

    events = httpx.get(
        f"{catalog_server.url}/admin/v1/audit", params={"limit": 50}, headers=admin
    ).json()["events"]
    by_request = {e["request-id"]: e for e in events}
    allowed = by_request["req-allowed"]
    assert allowed["operation"] == "updateProperties"
    assert allowed["status"] == 200
    assert namespace in allowed["target"]
    assert by_request["req-refused"]["status"] == 403
    assert by_request["req-refused"]["principal"] == created["id"]
    assert not any(e["operation"] == "loadNamespaceMetadata" for e in events), (
        "reads are not audited"
    )
    assert any(e["operation"] == "createToken" for e in events)


def test_a_commit_is_audited_in_its_own_transaction(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    """A landed commit's record is written with the commit (one write transaction, not a
    second one after the answer): it is there as soon as the client has the answer, once, even
    for a client's request id longer than the record keeps (cut to its first 64 characters;
    PostgreSQL refused the longer one, and the record was lost). A refused commit writes
    nothing, so its record is the access layer's, with the refusal."""
    create_table(http, namespace, "audited")
    admin = catalog_server.auth_headers

    def records(request_id: str) -> list[dict[str, Any]]:
        events = httpx.get(
            f"{catalog_server.url}/admin/v1/audit", params={"limit": 20}, headers=admin
        ).json()["events"]
        return [e for e in events if e["request-id"] == request_id]

    for attempt in range(20):
        request_id = f"req-commit-{namespace}-{attempt}" + ("x" * 100 if attempt == 0 else "")
        landed = commit(
            http,
            namespace,
            "audited",
            [set_properties(attempt=str(attempt))],
            headers={"X-Request-Id": request_id},
        )
        assert landed.status_code == 200, landed.text
        found = records(request_id[:64])
        assert [(e["operation"], e["status"]) for e in found] == [("updateTable", 200)], attempt

    refused_id = f"req-refused-{namespace}"
    refused = commit(
        http,
        namespace,
        "audited",
        [set_properties(never="written")],
        [{"type": "assert-table-uuid", "uuid": "00000000-0000-0000-0000-000000000000"}],
        headers={"X-Request-Id": refused_id},
    )
    assert refused.status_code == 409
    for _ in range(50):  # written by the access layer after the answer
        if found := records(refused_id):
            break
        time.sleep(0.05)
    assert [(e["operation"], e["status"]) for e in found] == [("updateTable", 409)]
