"""The words a reviewer reads for a commit, and the built-in rule each refusable change names."""

from __future__ import annotations

import copy
from typing import Any

from catalog.service.change_summary import (
    CHANGE_NULLABILITY,
    CHANGE_PARTITIONING,
    DROP_COLUMN,
    NARROW_COLUMN,
    summarize,
)

BASE: dict[str, Any] = {
    "location": "file:///w/t",
    "current-schema-id": 0,
    "schemas": [
        {
            "schema-id": 0,
            "type": "struct",
            "fields": [
                {"id": 1, "name": "id", "type": "int", "required": True},
                {"id": 2, "name": "price", "type": "decimal(10, 2)", "required": False},
                {
                    "id": 3,
                    "name": "address",
                    "required": False,
                    "type": {
                        "type": "struct",
                        "fields": [{"id": 4, "name": "city", "type": "string", "required": False}],
                    },
                },
            ],
        }
    ],
    "default-spec-id": 0,
    "partition-specs": [{"spec-id": 0, "fields": []}],
    "properties": {"owner": "ana"},
    "snapshots": [],
    "refs": {},
}


def with_schema(fields: list[dict[str, Any]]) -> dict[str, Any]:
    new = copy.deepcopy(BASE)
    new["schemas"].append({"schema-id": 1, "type": "struct", "fields": fields})
    new["current-schema-id"] = 1
    return new


def fields() -> list[dict[str, Any]]:
    return copy.deepcopy(BASE["schemas"][0]["fields"])


def test_dropping_a_column_nested_or_not_is_named_with_its_rule() -> None:
    kept = fields()[:1] + fields()[2:]
    kept[1]["type"]["fields"] = []
    summary = summarize(BASE, with_schema(kept))
    assert summary.lines == ["drops column `price`", "drops column `address.city`"]
    assert {c.rule for c in summary.changes} == {DROP_COLUMN}


def test_widening_is_allowed_and_narrowing_or_retyping_is_named() -> None:
    changed = fields()
    changed[0]["type"] = "long"
    changed[1]["type"] = "decimal(12, 2)"
    assert summarize(BASE, with_schema(changed)).refused_by(frozenset([NARROW_COLUMN])) == []
    changed[1]["type"] = "string"
    refused = summarize(BASE, with_schema(changed)).refused_by(frozenset([NARROW_COLUMN]))
    assert [c.text for c in refused] == [
        "changes the type of column `price` from decimal(10, 2) to string"
    ]


def test_required_to_optional_and_back_are_both_nullability_changes() -> None:
    changed = fields()
    changed[0]["required"] = False
    changed[1]["required"] = True
    summary = summarize(BASE, with_schema(changed))
    assert summary.lines == ["makes column `id` optional", "makes column `price` required"]
    assert {c.rule for c in summary.changes} == {CHANGE_NULLABILITY}


def test_partitioning_appends_and_properties_are_summarized() -> None:
    new = copy.deepcopy(BASE)
    new["partition-specs"].append(
        {"spec-id": 1, "fields": [{"source-id": 1, "transform": "bucket[4]", "name": "b"}]}
    )
    new["default-spec-id"] = 1
    new["snapshots"].append(
        {
            "snapshot-id": 7,
            "summary": {"operation": "append", "added-data-files": "1", "added-records": "100"},
        }
    )
    new["properties"] = {"owner": "bo"}
    summary = summarize(BASE, new)
    assert summary.lines == [
        "changes partitioning",
        "appends 1 data file (100 rows)",
        "sets property `owner`",
    ]
    assert summary.changes[0].rule == CHANGE_PARTITIONING


def test_adding_a_column_or_creating_a_table_is_no_rules_business() -> None:
    added = [*fields(), {"id": 5, "name": "email", "type": "string", "required": False}]
    summary = summarize(BASE, with_schema(added))
    assert summary.lines == ["adds column `email`"]
    assert all(c.rule is None for c in summary.changes)
    assert summarize(None, BASE).lines == ["creates the table"]
