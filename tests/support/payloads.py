"""Request bodies the spec defines, built once for the HTTP-level tests."""

from __future__ import annotations

from typing import Any

import httpx
from pyiceberg.io import load_file_io
from pyiceberg.manifest import write_manifest_list

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


def write_empty_manifest_list(location: str, properties: dict[str, str] | None = None) -> str:
    """A valid manifest list with no manifests at `location`, for snapshots a test adds by
    hand: the catalog reads a new snapshot's manifest list before accepting it. `properties`
    are FileIO properties (an S3 endpoint and keys); a `file://` location needs none."""
    io = load_file_io(properties or {}, location)
    with write_manifest_list(
        format_version=2,
        output_file=io.new_output(location),
        snapshot_id=1,
        parent_snapshot_id=None,
        sequence_number=1,
        avro_compression="null",
    ):
        pass
    return location
