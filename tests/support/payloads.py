"""Request bodies the spec defines, built once for the HTTP-level tests."""

from __future__ import annotations

from typing import Any

import httpx

SCHEMA: dict[str, Any] = {
    "type": "struct",
    "schema-id": 0,
    "fields": [
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "city", "type": "string", "required": False},
    ],
}


def create_table(http: httpx.Client, namespace: str, name: str, **extra: Any) -> dict[str, Any]:
    response = http.post(
        f"/namespaces/{namespace}/tables", json={"name": name, "schema": SCHEMA, **extra}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def commit(
    http: httpx.Client,
    namespace: str,
    name: str,
    updates: list[dict[str, Any]],
    requirements: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return http.post(
        f"/namespaces/{namespace}/tables/{name}",
        json={"requirements": requirements or [], "updates": updates},
        headers=headers,
    )


def set_properties(**values: str) -> dict[str, Any]:
    return {"action": "set-properties", "updates": values}
