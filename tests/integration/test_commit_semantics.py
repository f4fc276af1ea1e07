"""updateTable: every requirement type and every update type of the spec, applied atomically;
a refused commit leaves the table exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from tests.support.payloads import SCHEMA, commit, create_table, set_properties

Metadata = dict[str, Any]


def load(http: httpx.Client, namespace: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"/namespaces/{namespace}/tables/{name}").json()
    return body


REQUIREMENTS: dict[str, Callable[[Metadata], tuple[dict[str, Any], dict[str, Any]]]] = {
    # name -> metadata -> (a requirement that holds, one that does not)
    "assert-table-uuid": lambda m: (
        {"type": "assert-table-uuid", "uuid": m["table-uuid"]},
        {"type": "assert-table-uuid", "uuid": "00000000-0000-0000-0000-000000000000"},
    ),
    "assert-ref-snapshot-id": lambda m: (
        {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": m["current-snapshot-id"]},
        {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 42},
    ),
    "assert-last-assigned-field-id": lambda m: (
        {"type": "assert-last-assigned-field-id", "last-assigned-field-id": m["last-column-id"]},
        {"type": "assert-last-assigned-field-id", "last-assigned-field-id": 99},
    ),
    "assert-current-schema-id": lambda m: (
        {"type": "assert-current-schema-id", "current-schema-id": m["current-schema-id"]},
        {"type": "assert-current-schema-id", "current-schema-id": 7},
    ),
    "assert-last-assigned-partition-id": lambda m: (
        {
            "type": "assert-last-assigned-partition-id",
            "last-assigned-partition-id": m["last-partition-id"],
        },
        {"type": "assert-last-assigned-partition-id", "last-assigned-partition-id": 1234},
    ),
    "assert-default-spec-id": lambda m: (
        {"type": "assert-default-spec-id", "default-spec-id": m["default-spec-id"]},
        {"type": "assert-default-spec-id", "default-spec-id": 5},
    ),
    "assert-default-sort-order-id": lambda m: (
        {
            "type": "assert-default-sort-order-id",
            "default-sort-order-id": m["default-sort-order-id"],
        },
        {"type": "assert-default-sort-order-id", "default-sort-order-id": 5},
    ),
    "assert-create": lambda m: (
        {"type": "assert-table-uuid", "uuid": m["table-uuid"]},
        {"type": "assert-create"},
    ),
}


@pytest.fixture
def appended(catalog: RestCatalog, namespace: str) -> str:
    table = catalog.create_table(f"{namespace}.t", schema=pa.schema([("id", pa.int64())]))
    table.append(pa.table({"id": pa.array([1, 2], pa.int64())}))
    return "t"


@pytest.mark.parametrize("requirement", sorted(REQUIREMENTS))
def test_each_requirement_guards_the_commit(
    http: httpx.Client, namespace: str, appended: str, requirement: str
) -> None:
    before = load(http, namespace, appended)
    holds, fails = REQUIREMENTS[requirement](before["metadata"])

    refused = commit(http, namespace, appended, [set_properties(x="1")], [fails])
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["type"] == "CommitFailedException"
    assert load(http, namespace, appended) == before

    accepted = commit(http, namespace, appended, [set_properties(x="1")], [holds])
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["metadata"]["properties"]["x"] == "1"


def _snapshot_like(metadata: Metadata, snapshot_id: int) -> dict[str, Any]:
    current = next(
        s for s in metadata["snapshots"] if s["snapshot-id"] == metadata["current-snapshot-id"]
    )
    return {
        **current,
        "snapshot-id": snapshot_id,
        "parent-snapshot-id": current["snapshot-id"],
        "sequence-number": metadata["last-sequence-number"] + 1,
        "timestamp-ms": current["timestamp-ms"] + 1,
    }


def _statistics(metadata: Metadata) -> dict[str, Any]:
    return {
        "action": "set-statistics",
        "statistics": {
            "snapshot-id": metadata["current-snapshot-id"],
            "statistics-path": metadata["location"] + "/metadata/stats.puffin",
            "file-size-in-bytes": 10,
            "file-footer-size-in-bytes": 5,
            "blob-metadata": [],
        },
    }


def _partition_statistics(metadata: Metadata) -> dict[str, Any]:
    return {
        "action": "set-partition-statistics",
        "partition-statistics": {
            "snapshot-id": metadata["current-snapshot-id"],
            "statistics-path": metadata["location"] + "/metadata/part.parquet",
            "file-size-in-bytes": 10,
        },
    }


NEW_SCHEMA = {
    "type": "struct",
    "schema-id": 1,
    "fields": [
        {"id": 1, "name": "id", "type": "long", "required": False},
        {"id": 2, "name": "note", "type": "string", "required": False},
    ],
}

UPDATES: dict[
    str, tuple[Callable[[Metadata], list[dict[str, Any]]], Callable[[Metadata], bool]]
] = {
    "add-schema + set-current-schema": (
        lambda m: [
            {"action": "add-schema", "schema": NEW_SCHEMA, "last-column-id": 2},
            {"action": "set-current-schema", "schema-id": -1},
        ],
        lambda m: m["current-schema-id"] == 1 and len(m["schemas"]) == 2,
    ),
    "add-spec + set-default-spec": (
        lambda m: [
            {
                "action": "add-spec",
                "spec": {
                    "spec-id": 1,
                    "fields": [
                        {"source-id": 1, "field-id": 1000, "name": "b", "transform": "bucket[4]"}
                    ],
                },
            },
            {"action": "set-default-spec", "spec-id": -1},
        ],
        lambda m: m["default-spec-id"] == 1,
    ),
    "add-sort-order + set-default-sort-order": (
        lambda m: [
            {
                "action": "add-sort-order",
                "sort-order": {
                    "order-id": 1,
                    "fields": [
                        {
                            "source-id": 1,
                            "transform": "identity",
                            "direction": "asc",
                            "null-order": "nulls-first",
                        }
                    ],
                },
            },
            {"action": "set-default-sort-order", "sort-order-id": -1},
        ],
        lambda m: m["default-sort-order-id"] == 1,
    ),
    "add-snapshot + set-snapshot-ref": (
        lambda m: [
            {"action": "add-snapshot", "snapshot": _snapshot_like(m, 777)},
            {
                "action": "set-snapshot-ref",
                "ref-name": "main",
                "type": "branch",
                "snapshot-id": 777,
            },
        ],
        lambda m: m["current-snapshot-id"] == 777,
    ),
    "set-snapshot-ref (tag) + remove-snapshot-ref": (
        lambda m: [
            {
                "action": "set-snapshot-ref",
                "ref-name": "v1",
                "type": "tag",
                "snapshot-id": m["current-snapshot-id"],
            },
            {"action": "remove-snapshot-ref", "ref-name": "v1"},
        ],
        lambda m: "v1" not in m.get("refs", {}),
    ),
    "remove-snapshots": (
        lambda m: [
            {"action": "add-snapshot", "snapshot": _snapshot_like(m, 778)},
            {"action": "remove-snapshots", "snapshot-ids": [778]},
        ],
        lambda m: all(s["snapshot-id"] != 778 for s in m["snapshots"]),
    ),
    "set-location": (
        lambda m: [{"action": "set-location", "location": m["location"] + "-moved"}],
        lambda m: m["location"].endswith("-moved"),
    ),
    "set-properties + remove-properties": (
        lambda m: [
            set_properties(a="1", b="2"),
            {"action": "remove-properties", "removals": ["a"]},
        ],
        lambda m: m["properties"].get("b") == "2" and "a" not in m["properties"],
    ),
    "set-statistics": (
        lambda m: [_statistics(m)],
        lambda m: len(m.get("statistics", [])) == 1,
    ),
    "remove-statistics": (
        lambda m: [
            _statistics(m),
            {"action": "remove-statistics", "snapshot-id": m["current-snapshot-id"]},
        ],
        lambda m: not m.get("statistics"),
    ),
    "set-partition-statistics": (
        lambda m: [_partition_statistics(m)],
        lambda m: len(m.get("partition-statistics", [])) == 1,
    ),
    "remove-partition-statistics": (
        lambda m: [
            _partition_statistics(m),
            {"action": "remove-partition-statistics", "snapshot-id": m["current-snapshot-id"]},
        ],
        lambda m: not m.get("partition-statistics"),
    ),
    "remove-partition-specs": (
        lambda m: [
            {
                "action": "add-spec",
                "spec": {
                    "spec-id": 1,
                    "fields": [
                        {"source-id": 1, "field-id": 1000, "name": "b", "transform": "bucket[8]"}
                    ],
                },
            },
            {"action": "remove-partition-specs", "spec-ids": [1]},
        ],
        lambda m: [s["spec-id"] for s in m["partition-specs"]] == [0],
    ),
    "remove-schemas": (
        lambda m: [
            {"action": "add-schema", "schema": NEW_SCHEMA},
            {"action": "remove-schemas", "schema-ids": [1]},
        ],
        lambda m: [s["schema-id"] for s in m["schemas"]] == [0],
    ),
}


@pytest.mark.parametrize("update", sorted(UPDATES))
def test_each_update_type_is_applied(
    http: httpx.Client, namespace: str, appended: str, update: str
) -> None:
    build, check = UPDATES[update]
    before = load(http, namespace, appended)
    response = commit(http, namespace, appended, build(before["metadata"]))
    assert response.status_code == 200, response.text
    after = load(http, namespace, appended)
    assert check(after["metadata"]), after["metadata"]
    assert after["metadata-location"] == response.json()["metadata-location"]
    assert after["metadata-location"] != before["metadata-location"]
    log = [entry["metadata-file"] for entry in after["metadata"]["metadata-log"]]
    assert log[-1] == before["metadata-location"]


def test_a_commit_that_changes_nothing_writes_no_new_version(
    http: httpx.Client, namespace: str, appended: str
) -> None:
    before = load(http, namespace, appended)
    same_uuid = {"action": "assign-uuid", "uuid": before["metadata"]["table-uuid"]}
    response = commit(http, namespace, appended, [same_uuid])
    assert response.status_code == 200
    assert response.json()["metadata-location"] == before["metadata-location"]
    other_uuid = {"action": "assign-uuid", "uuid": "9f1c0d3e-2b4a-4c5d-8e6f-7a8b9c0d1e2f"}
    assert commit(http, namespace, appended, [other_uuid]).status_code == 400


def test_upgrade_format_version(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "v1", properties={"format-version": "1"})
    response = commit(
        http, namespace, "v1", [{"action": "upgrade-format-version", "format-version": 2}]
    )
    assert response.status_code == 200, response.text
    assert load(http, namespace, "v1")["metadata"]["format-version"] == 2
    downgrade = commit(
        http, namespace, "v1", [{"action": "upgrade-format-version", "format-version": 1}]
    )
    assert downgrade.status_code == 400


ENCRYPTION_KEYS = [
    {
        "action": "add-encryption-key",
        "encryption-key": {"key-id": "k1", "encrypted-key-metadata": "AAAA"},
    },
    {
        "action": "add-encryption-key",
        "encryption-key": {"key-id": "k2", "encrypted-key-metadata": "BBBB"},
    },
    {"action": "remove-encryption-key", "key-id": "k1"},
]


def test_encryption_keys_are_added_removed_and_survive_later_commits(
    http: httpx.Client, namespace: str
) -> None:
    create_table(http, namespace, "v3", properties={"format-version": "3"})
    response = commit(http, namespace, "v3", ENCRYPTION_KEYS)
    assert response.status_code == 200, response.text
    commit(http, namespace, "v3", [set_properties(later="yes")])
    metadata = load(http, namespace, "v3")["metadata"]
    assert [k["key-id"] for k in metadata["encryption-keys"]] == ["k2"]
    assert metadata["properties"]["later"] == "yes"


def test_encryption_keys_need_format_version_3(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "v2")
    assert commit(http, namespace, "v2", ENCRYPTION_KEYS[:1]).status_code == 400


def test_invalid_update_is_bad_request_and_changes_nothing(
    http: httpx.Client, namespace: str, appended: str
) -> None:
    before = load(http, namespace, appended)
    cases = [
        [{"action": "set-current-schema", "schema-id": 42}],
        [{"action": "set-default-spec", "spec-id": 42}],
        [{"action": "no-such-update"}],
        [{"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 9}],
    ]
    for updates in cases:
        response = commit(http, namespace, appended, updates)
        assert response.status_code == 400, (updates, response.text)
        assert response.json()["error"]["code"] == 400
    unknown_requirement = commit(http, namespace, appended, [], [{"type": "assert-nonsense"}])
    assert unknown_requirement.status_code == 400
    assert load(http, namespace, appended) == before


def test_commit_to_missing_table_is_not_found(http: httpx.Client, namespace: str) -> None:
    response = commit(http, namespace, "ghost", [set_properties(a="1")])
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NoSuchTableException"


def test_identifier_in_body_must_match_path(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "t")
    response = http.post(
        f"/namespaces/{namespace}/tables/t",
        json={"identifier": {"namespace": [namespace], "name": "other"}, "updates": []},
    )
    assert response.status_code == 400


def test_stale_commit_loses_and_table_is_unchanged(http: httpx.Client, namespace: str) -> None:
    """Two writers read the same version; the second one's requirement no longer holds."""
    created = create_table(http, namespace, "t")
    schema_req = {"type": "assert-current-schema-id", "current-schema-id": 0}
    new_schema = {
        "action": "add-schema",
        "schema": {
            **SCHEMA,
            "schema-id": 1,
            "fields": [
                *SCHEMA["fields"],
                {"id": 3, "name": "extra", "type": "int", "required": False},
            ],
        },
    }
    first = commit(
        http,
        namespace,
        "t",
        [new_schema, {"action": "set-current-schema", "schema-id": -1}],
        [schema_req],
    )
    assert first.status_code == 200
    after_first = load(http, namespace, "t")
    second = commit(
        http,
        namespace,
        "t",
        [new_schema, {"action": "set-current-schema", "schema-id": -1}],
        [schema_req],
    )
    assert second.status_code == 409
    assert load(http, namespace, "t") == after_first
    assert after_first["metadata-location"] != created["metadata-location"]
