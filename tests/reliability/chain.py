"""Commits that can be audited afterwards: each one adds a snapshot on top of `main`.

A commit built here requires `main` to be exactly the snapshot its writer read
(`assert-ref-snapshot-id`), adds one new snapshot whose parent is that snapshot, moves `main`
to it and sets properties in the same metadata change. The table's snapshot chain is then the
exact order in which commits landed, so a test can replay it against a model: which commits
were acknowledged, which were refused, and whether any landed twice or only in part.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.payloads import SCHEMA, write_empty_manifest_list

Metadata = dict[str, Any]

LONG = os.environ.get("ICEFLOE_RELIABILITY_LONG") == "1"
# The long versions outlast the suite's 300 s per-test timeout (pyproject.toml).
LONG_TIMEOUT = [pytest.mark.timeout(3 * 3600)] if LONG else []


def client(base_url: str, token: str, timeout: float = 30) -> httpx.Client:
    return httpx.Client(
        base_url=f"{base_url}/v1/default",
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )


def create_table(
    http: httpx.Client,
    namespace: str,
    name: str,
    file_io: dict[str, str] | None = None,
    **properties: str,
) -> Metadata:
    """A new table, with the one (empty) manifest list all its chained snapshots share,
    written with the FileIO properties `file_io` (none for a `file://` warehouse)."""
    response = http.post(
        f"/namespaces/{namespace}/tables",
        json={"name": name, "schema": SCHEMA, "properties": properties},
    )
    assert response.status_code == 200, response.text
    metadata: Metadata = response.json()["metadata"]
    write_empty_manifest_list(manifest_list(metadata), file_io)
    return metadata


def manifest_list(metadata: Metadata) -> str:
    return f"{metadata['location']}/metadata/snap-empty.avro"


def load(http: httpx.Client, namespace: str, name: str) -> tuple[str, Metadata]:
    response = http.get(f"/namespaces/{namespace}/tables/{name}")
    assert response.status_code == 200, response.text
    body = response.json()
    return body["metadata-location"], body["metadata"]


def main_snapshot(metadata: Metadata) -> int | None:
    ref = metadata.get("refs", {}).get("main")
    return int(ref["snapshot-id"]) if ref else None


def chain(metadata: Metadata) -> list[int]:
    """Snapshot ids from the first to `main`, following parents."""
    by_id = {s["snapshot-id"]: s for s in metadata.get("snapshots", [])}
    ids: list[int] = []
    current = main_snapshot(metadata)
    while current is not None:
        ids.append(current)
        current = by_id[current].get("parent-snapshot-id")
    return ids[::-1]


def change(
    metadata: Metadata, snapshot_id: int, properties: dict[str, str] | None
) -> dict[str, Any]:
    """The requirements and updates of one chained commit on top of `metadata`; with
    `properties` None, an append exactly as PyIceberg sends it (the pointer then moves in a
    transaction of its own, `catalog/store/table_commits.py`, where a change of properties
    also rewrites the table's search entry in a unit of work)."""
    parent = main_snapshot(metadata)
    snapshot: dict[str, Any] = {
        "snapshot-id": snapshot_id,
        "sequence-number": metadata["last-sequence-number"] + 1,
        "timestamp-ms": max(int(time.time() * 1000), metadata["last-updated-ms"] + 1),
        "manifest-list": manifest_list(metadata),
        "summary": {"operation": "append"},
        "schema-id": metadata["current-schema-id"],
    }
    if parent is not None:
        snapshot["parent-snapshot-id"] = parent
    updates: list[dict[str, Any]] = [
        {"action": "add-snapshot", "snapshot": snapshot},
        {
            "action": "set-snapshot-ref",
            "ref-name": "main",
            "type": "branch",
            "snapshot-id": snapshot_id,
        },
    ]
    if properties is not None:
        updates.append({"action": "set-properties", "updates": properties})
    return {
        "requirements": [
            {"type": "assert-table-uuid", "uuid": metadata["table-uuid"]},
            {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": parent},
        ],
        "updates": updates,
    }


def read_location(location: str) -> bytes:
    """The bytes of a `file://` metadata file the server wrote."""
    parts = urlsplit(location)
    assert parts.scheme == "file", location
    return Path(parts.path).read_bytes()
