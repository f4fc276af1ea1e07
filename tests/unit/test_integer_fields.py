"""The integer field tables of catalog/integers.py against the REST spec, and the checker on
the documents it guards: exact where floats are legitimate, refusing where they are not."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.integers import FIELDS, INT, LISTS, LONG, integer_problem, metadata_problem

SPEC_PATH = Path(
    os.environ.get("ICEFLOE_REST_SPEC", "/work/shared/spec/rest-catalog-open-api.yaml")
)
# Integers of the spec that are no JSON request field: the error model's HTTP status, and the
# OAuth token response's lifetime (a form, not JSON).
NOT_FIELDS = {"code", "expires_in"}


def spec_integer_fields() -> dict[str, tuple[bool, str | None]]:
    """Each property the spec types as an integer or a list of them: name -> (is list, format)."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    found: dict[str, tuple[bool, str | None]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict):
                    if prop.get("type") == "integer":
                        found[name] = (False, prop.get("format"))
                    items = prop.get("items") or {}
                    if prop.get("type") == "array" and items.get("type") == "integer":
                        found[name] = (True, items.get("format"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


@pytest.mark.skipif(not SPEC_PATH.exists(), reason="the REST spec is not at ICEFLOE_REST_SPEC")
def test_every_integer_field_of_the_spec_is_checked_with_its_width() -> None:
    for name, (is_list, fmt) in spec_integer_fields().items():
        if name in NOT_FIELDS:
            continue
        table = LISTS if is_list else FIELDS
        assert name in table, f"{name} ({'list' if is_list else 'field'}) is not checked"
        if fmt == "int64":
            assert table[name] == LONG, name
        elif fmt == "int32":
            assert table[name] == INT, name


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"snapshots": [{"snapshot-id": 2**64}]}, "snapshots[0].snapshot-id"),
        ({"snapshots": [{"snapshot-id": 2**63}]}, "snapshots[0].snapshot-id"),
        ({"snapshots": [{"snapshot-id": -(2**63) - 1}]}, "snapshots[0].snapshot-id"),
        ({"snapshots": [{"snapshot-id": 1.0}]}, "snapshots[0].snapshot-id"),
        ({"snapshots": [{"snapshot-id": True}]}, "snapshots[0].snapshot-id"),
        ({"snapshots": [{"snapshot-id": "5"}]}, "snapshots[0].snapshot-id"),
        ({"schemas": [{"schema-id": 2**31}]}, "schemas[0].schema-id"),
        ({"schema": {"identifier-field-ids": [1, 2**31]}}, "schema.identifier-field-ids[1]"),
        ({"schema": {"fields": [{"id": 1.5}]}}, "schema.fields[0].id"),
        ({"type": "map", "key-id": 2**40}, "key-id"),
        ({"default": {"initial-default": 2**64}}, "default.initial-default"),
        ({"properties": {"a": 2**64}}, "properties.a"),
        ({"extra": [1, [float("inf")]]}, "extra[1][0]"),
        ({"metrics": {"total": {"unit": "count", "value": 0.5}}}, "metrics.total.value"),
    ],
)
def test_a_wrong_number_is_named_by_its_path(document: Any, path: str) -> None:
    problem = integer_problem(document)
    assert problem is not None and problem.startswith(f"{path}: "), problem


@pytest.mark.parametrize(
    "document",
    [
        {"snapshot-id": 2**63 - 1, "parent-snapshot-id": -(2**63), "schema-id": 2**31 - 1},
        {"fields": [{"id": 1, "initial-default": 1.5, "write-default": 1e300}]},
        {"encryption-keys": [{"key-id": "k1", "encrypted-key-metadata": "AA=="}]},
        {"snapshot": {"key-id": "k1"}},
        {"properties": {"snapshot-id": "not a number", "schema-id": "1.5"}},
        {"refs": {"snapshot-id": {"snapshot-id": 5, "type": "branch"}}},
        {"filter": {"type": "lt", "term": "price", "value": 3.5}},
        {"blob-metadata": [{"fields": [1, 2], "properties": {"ndv": "3"}}]},
        {"unknown-extension": {"ratio": 0.25}},
        {"requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": None}]},
    ],
)
def test_legitimate_numbers_and_strings_pass(document: Any) -> None:
    assert integer_problem(document) is None
    assert metadata_problem(json.dumps(document)) is None


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"snapshot-id": 18446744073709551616}', "snapshot-id"),
        ('{"snapshot-id": 9223372036854775808}', "snapshot-id"),
        ('{"snapshot-id": -9223372036854775809}', "snapshot-id"),
        ('{"schema-id": 1180591620717411303424}', "schema-id"),
        # Where a float may stand, orjson's float for a huge integer is checked exactly.
        ('{"f": {"initial-default": 18446744073709551616}}', "f.initial-default"),
        ('{"f": {"write-default": -9223372036854775809}}', "f.write-default"),
    ],
)
def test_stored_text_with_an_integer_beyond_64_bits_is_refused(text: str, path: str) -> None:
    problem = metadata_problem(text)
    assert problem is not None and problem.startswith(f"{path}: "), problem


def test_a_large_float_where_floats_belong_is_kept() -> None:
    assert metadata_problem('{"f": {"initial-default": 1.8446744073709552e19}}') is None


def test_nesting_as_deep_as_json_allows_does_not_exhaust_the_stack() -> None:
    deep: Any = 2**64
    for _ in range(100_000):
        deep = [deep]
    assert integer_problem(deep) is not None
