"""The commit's document path decides exactly as pyiceberg's models do.

`document_updates` applies the common updates to the stored JSON document; pyiceberg's
`update_table_metadata` (through `apply_table_updates`) is the reference. Hypothesis builds
tables of format v1 and v2 with some history (snapshots, branches, tags, statistics,
properties, a metadata log) and commits made of requirements and updates, valid and not
(unknown and duplicate snapshots, stale sequence numbers, unknown refs, tags with branch
retention, removing the current snapshot, missing properties and statistics, a bad
metadata-log limit). Both paths must give the same decision (the same error class, or the same
document and the same "changed"), and the document path must leave its base untouched and name
as new every part it did not share with the base. Nothing is ignored: both clocks are pinned.
"""

from __future__ import annotations

import copy
import functools
import uuid
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import new_table_metadata
from pyiceberg.table.sorting import SortField, SortOrder
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import LongType, NestedField, StringType

from catalog.exceptions import CatalogError
from catalog.protocol import CommitTableRequest
from catalog.service.document_updates import DocumentCommit
from catalog.service.table_metadata import (
    apply_document_commit,
    apply_table_updates,
    check_requirements,
    metadata_document,
    parse_stored_metadata,
)

LOCATION = "s3://bucket/wh/ns/t"
METADATA_LOCATION = f"{LOCATION}/metadata/00007-x.metadata.json"
NOW = 1_700_000_999_000
PROPERTY_KEYS = ["owner", "comment", "write.metadata.previous-versions-max", "k"]
REF_NAMES = ["main", "b1", "t1", "fresh"]
#: ids a table's history uses, and a few it never does.
SNAPSHOT_IDS = [101, 102, 103, 104, 105, 106]
UNKNOWN_IDS = [7, 999]


def _schema() -> Schema:
    return Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "city", StringType(), required=False),
        identifier_field_ids=[1],
    )


def _pinned() -> Any:
    """Both paths read this clock when an update sets no timestamp of its own."""
    return mock.patch.multiple(
        "catalog.service.document_updates", now_ms=mock.Mock(return_value=NOW)
    ), mock.patch("pyiceberg.table.update.datetime_to_millis", return_value=NOW)


def _commit(requirements: list[dict[str, Any]], updates: list[dict[str, Any]]) -> Any:
    return CommitTableRequest.model_validate({"requirements": requirements, "updates": updates})


def _snapshot(
    snapshot_id: int, parent: int | None, sequence_number: int | None, timestamp_ms: int
) -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        "snapshot-id": snapshot_id,
        "timestamp-ms": timestamp_ms,
        "manifest-list": f"{LOCATION}/metadata/snap-{snapshot_id}.avro",
        "summary": {"operation": "append", "added-data-files": "1"},
        "schema-id": 0,
    }
    if parent is not None:
        snapshot["parent-snapshot-id"] = parent
    if sequence_number is not None:
        snapshot["sequence-number"] = sequence_number
    return snapshot


def _statistics(snapshot_id: int, name: str) -> dict[str, Any]:
    return {
        "snapshot-id": snapshot_id,
        "statistics-path": f"{LOCATION}/metadata/{name}-{snapshot_id}.puffin",
        "file-size-in-bytes": 100,
        "file-footer-size-in-bytes": 10,
        "blob-metadata": [
            {
                "type": "apache-datasketches-theta-v1",
                "snapshot-id": snapshot_id,
                "sequence-number": 1,
                "fields": [1],
            }
        ],
    }


def _partition_statistics(snapshot_id: int) -> dict[str, Any]:
    return {
        "snapshot-id": snapshot_id,
        "statistics-path": f"{LOCATION}/metadata/partition-{snapshot_id}.parquet",
        "file-size-in-bytes": 42,
    }


def _apply_reference(text: str, commit: Any, location: str | None) -> dict[str, Any]:
    base = parse_stored_metadata(text)
    check_requirements(commit.requirements, base)
    _, document, _ = apply_table_updates(base, text, commit.updates, location)
    return document


@st.composite
def tables(draw: st.DrawFn) -> str:
    """A stored metadata document (the catalog's own JSON text) with some history."""
    history = draw(st.integers(min_value=0, max_value=4))
    return _table(
        version=draw(st.sampled_from([1, 2])),
        partitioned=draw(st.booleans()),
        properties=tuple(
            sorted(
                draw(
                    st.dictionaries(
                        st.sampled_from(
                            ["owner", "comment", "write.metadata.previous-versions-max"]
                        ),
                        st.sampled_from(["1", "2"]),
                    )
                ).items()
            )
        ),
        statistics=tuple(draw(st.lists(st.booleans(), min_size=history, max_size=history))),
        partition_statistics=tuple(
            draw(st.lists(st.booleans(), min_size=history, max_size=history))
        ),
        tag=history > 0 and draw(st.booleans()),
        branch=history > 0 and draw(st.booleans()),
    )


@functools.cache
def _table(
    *,
    version: int,
    partitioned: bool,
    properties: tuple[tuple[str, str], ...],
    statistics: tuple[bool, ...],
    partition_statistics: tuple[bool, ...],
    tag: bool,
    branch: bool,
) -> str:
    """Built by the pyiceberg path, commit after commit, as the catalog would have stored it."""
    spec = (
        PartitionSpec(
            PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="city")
        )
        if partitioned
        else PartitionSpec()
    )
    order = SortOrder(SortField(source_id=1, transform=IdentityTransform()))
    metadata = new_table_metadata(
        _schema(), spec, order, LOCATION, {**dict(properties), "format-version": str(version)}
    )
    text = orjson.dumps(metadata_document(metadata)).decode()
    requests: list[list[dict[str, Any]]] = []
    parent: int | None = None
    for index, (with_statistics, with_partition_statistics) in enumerate(
        zip(statistics, partition_statistics, strict=True)
    ):
        snapshot_id = SNAPSHOT_IDS[index]
        seq = index + 1 if version == 2 else None
        updates: list[dict[str, Any]] = [
            {
                "action": "add-snapshot",
                "snapshot": _snapshot(snapshot_id, parent, seq, 1_700_000_000_000 + index),
            },
            {
                "action": "set-snapshot-ref",
                "ref-name": "main",
                "type": "branch",
                "snapshot-id": snapshot_id,
            },
        ]
        if with_statistics:
            updates.append(
                {"action": "set-statistics", "statistics": _statistics(snapshot_id, "stats")}
            )
        if with_partition_statistics:
            updates.append(
                {
                    "action": "set-partition-statistics",
                    "partition-statistics": _partition_statistics(snapshot_id),
                }
            )
        requests.append(updates)
        parent = snapshot_id
    if tag:
        requests.append(
            [
                {
                    "action": "set-snapshot-ref",
                    "ref-name": "t1",
                    "type": "tag",
                    "snapshot-id": SNAPSHOT_IDS[0],
                    "max-ref-age-ms": 1000,
                }
            ]
        )
    if branch:
        requests.append(
            [
                {
                    "action": "set-snapshot-ref",
                    "ref-name": "b1",
                    "type": "branch",
                    "snapshot-id": SNAPSHOT_IDS[len(statistics) - 1],
                    "min-snapshots-to-keep": 2,
                }
            ]
        )
    with _pinned()[1]:
        for number, updates in enumerate(requests):
            document = _apply_reference(
                text, _commit([], updates), f"{LOCATION}/metadata/{number:05d}-x.metadata.json"
            )
            text = orjson.dumps(document).decode()
    return text


optional_age = st.none() | st.sampled_from([1, 5000])


def _ids_in(base: dict[str, Any], key: str) -> st.SearchStrategy[int]:
    present = [s["snapshot-id"] for s in base[key]]
    return st.sampled_from(present) if present else st.nothing()


def _updates(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Updates about this table's snapshots and statistics mostly; fresh and unknown ids too."""
    existing = [s["snapshot-id"] for s in base["snapshots"]]
    fresh = [i for i in SNAPSHOT_IDS if i not in existing][:2]
    ids = st.sampled_from(existing or fresh) | st.sampled_from(fresh) | st.sampled_from(UNKNOWN_IDS)
    add = st.builds(
        lambda sid, parent, seq, ts: {
            "action": "add-snapshot",
            "snapshot": _snapshot(sid, parent, seq, ts),
        },
        st.sampled_from(fresh) | ids,
        st.none() | ids,
        st.none() | st.integers(min_value=0, max_value=8),
        st.sampled_from([1_600_000_000_000, 1_700_000_000_002, NOW]),
    )
    set_ref = st.builds(
        lambda name, kind, sid, keep, snap_age, ref_age: {
            "action": "set-snapshot-ref",
            "ref-name": name,
            "type": kind,
            "snapshot-id": sid,
            **({"min-snapshots-to-keep": keep} if keep else {}),
            **({"max-snapshot-age-ms": snap_age} if snap_age else {}),
            **({"max-ref-age-ms": ref_age} if ref_age else {}),
        },
        st.sampled_from(REF_NAMES),
        st.sampled_from(["branch", "tag"]),
        ids,
        st.none() | st.sampled_from([1, 2]),
        optional_age,
        optional_age,
    )
    remove_ref = st.builds(
        lambda name: {"action": "remove-snapshot-ref", "ref-name": name},
        st.sampled_from(REF_NAMES),
    )
    remove_snapshots = st.builds(
        lambda chosen: {"action": "remove-snapshots", "snapshot-ids": chosen},
        st.lists(ids, min_size=1, max_size=3),
    )
    set_properties = st.builds(
        lambda updates: {"action": "set-properties", "updates": updates},
        st.dictionaries(
            st.sampled_from(PROPERTY_KEYS), st.sampled_from(["1", "3", "x", "a"]), max_size=2
        ),
    )
    remove_properties = st.builds(
        lambda removals: {"action": "remove-properties", "removals": removals},
        st.lists(st.sampled_from(sorted(base["properties"]) or PROPERTY_KEYS), max_size=2)
        | st.lists(st.sampled_from(PROPERTY_KEYS), max_size=1),
    )
    set_statistics = st.builds(
        lambda sid, name: {"action": "set-statistics", "statistics": _statistics(sid, name)},
        ids,
        st.sampled_from(["stats", "other"]),
    )
    remove_statistics = st.builds(
        lambda sid: {"action": "remove-statistics", "snapshot-id": sid},
        _ids_in(base, "statistics") | ids,
    )
    set_partition_statistics = st.builds(
        lambda sid: {
            "action": "set-partition-statistics",
            "partition-statistics": _partition_statistics(sid),
        },
        ids,
    )
    remove_partition_statistics = st.builds(
        lambda sid: {"action": "remove-partition-statistics", "snapshot-id": sid},
        _ids_in(base, "partition-statistics") | ids,
    )
    return st.one_of(
        add,
        add,
        set_ref,
        set_ref,
        remove_ref,
        remove_snapshots,
        set_properties,
        remove_properties,
        set_statistics,
        remove_statistics,
        set_partition_statistics,
        remove_partition_statistics,
    )


def _requirements(table_uuid: str) -> st.SearchStrategy[dict[str, Any]]:
    ids = st.sampled_from(SNAPSHOT_IDS + UNKNOWN_IDS)
    return st.one_of(
        st.builds(
            lambda ref, sid: {"type": "assert-ref-snapshot-id", "ref": ref, "snapshot-id": sid},
            st.sampled_from(REF_NAMES),
            st.none() | ids,
        ),
        st.builds(
            lambda right: {
                "type": "assert-table-uuid",
                "uuid": table_uuid if right else str(uuid.UUID(int=1)),
            },
            st.booleans(),
        ),
        st.builds(
            lambda n: {"type": "assert-current-schema-id", "current-schema-id": n},
            st.sampled_from([0, 1]),
        ),
        st.builds(
            lambda n: {"type": "assert-last-assigned-field-id", "last-assigned-field-id": n},
            st.sampled_from([2, 3]),
        ),
        st.builds(
            lambda n: {
                "type": "assert-last-assigned-partition-id",
                "last-assigned-partition-id": n,
            },
            st.sampled_from([999, 1000]),
        ),
        st.builds(
            lambda n: {"type": "assert-default-spec-id", "default-spec-id": n},
            st.sampled_from([0, 1]),
        ),
        st.builds(
            lambda n: {"type": "assert-default-sort-order-id", "default-sort-order-id": n},
            st.sampled_from([0, 1]),
        ),
        st.just({"type": "assert-create"}),
    )


def _outcome(run: Any) -> tuple[str, Any]:
    try:
        return "ok", run()
    except CatalogError as error:
        return type(error).__name__, None


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), text=tables())
def test_document_path_decides_as_pyiceberg_does(data: st.DataObject, text: str) -> None:
    base = orjson.loads(text)
    table_uuid = base["table-uuid"]
    requirements = data.draw(
        st.just([]) | st.lists(_requirements(table_uuid), max_size=2), "requirements"
    )
    updates = data.draw(st.lists(_updates(base), min_size=1, max_size=4), "updates")
    try:
        commit = _commit(requirements, updates)
    except ValueError:  # the request itself does not parse
        event("request refused by the protocol")
        return
    pristine = copy.deepcopy(base)
    clock, pyiceberg_clock = _pinned()
    with clock, pyiceberg_clock:

        def reference() -> tuple[dict[str, Any], bool]:
            parsed = parse_stored_metadata(text)
            check_requirements(commit.requirements, parsed)
            _, document, changed = apply_table_updates(
                parsed, text, commit.updates, METADATA_LOCATION
            )
            return document, changed

        def fast() -> DocumentCommit:
            result = apply_document_commit(
                base, commit.requirements, commit.updates, METADATA_LOCATION
            )
            assert result is not None, "every update here is one the document path applies"
            return result

        expected = _outcome(reference)
        actual = _outcome(fast)
    event(f"outcome: {expected[0]}")
    assert base == pristine, "the document path changed its base"
    assert actual[0] == expected[0], (actual[0], expected[0])
    if expected[0] != "ok":
        return
    document, changed = expected[1]
    result: DocumentCommit = actual[1]
    assert result.changed == changed
    if changed:
        assert orjson.loads(orjson.dumps(result.document)) == document
        _assert_added_parts_cover_the_change(result)


def _assert_added_parts_cover_the_change(result: DocumentCommit) -> None:
    """Every value that differs from the base, at the top level or as a list item, is named."""
    parts = result.added_parts()
    for key, value in result.document.items():
        before = result.base.get(key)
        if value == before:
            continue
        if isinstance(value, list) and isinstance(before, list):
            assert all(item in parts[key] for item in value if item not in before), key
        else:
            assert parts[key] == value, key


@pytest.mark.parametrize("version", [1, 2])
def test_schema_changes_and_format_upgrades_take_the_pyiceberg_path(version: int) -> None:
    metadata = new_table_metadata(
        _schema(), PartitionSpec(), SortOrder(), LOCATION, {"format-version": str(version)}
    )
    base = metadata_document(metadata)
    for update in (
        {"action": "upgrade-format-version", "format-version": 3},
        {"action": "set-location", "location": f"{LOCATION}2"},
        {"action": "set-current-schema", "schema-id": -1},
    ):
        commit = _commit([], [{"action": "set-properties", "updates": {"a": "b"}}, update])
        assert apply_document_commit(base, [], commit.updates, METADATA_LOCATION) is None
