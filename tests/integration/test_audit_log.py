"""The audit log records every write and admin action: who, what, on what, when, the request
id and the outcome — refused attempts included."""

from __future__ import annotations

import httpx

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
