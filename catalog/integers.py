"""The spec's integer types, held at both ends: request bodies and stored metadata documents.

Python's integers have no size, JSON's numbers no type. Left alone, a snapshot id of 2**64
passes pydantic (an `int`), leaves pyiceberg as a JSON integer that orjson reads back as a float,
and the stored table no longer parses: every later commit and load fails. So every field the
REST and Iceberg specs type as an integer is checked by its name: an `int` (32-bit) or a `long`
(64-bit), never a float, a bool or a string. Anywhere else a number may be anything JSON allows
(a double column's `initial-default` is a float), but no integer lies outside the signed 64-bit
range, which is all any Iceberg type or engine can hold.

Field names mean the same thing wherever they appear in these specs, with two exceptions
handled by context: `key-id` is an int in a map type but a string naming an encryption key, and
`value` is a long in a metrics counter but any literal in a filter expression. Maps whose keys
the client chooses (properties, summaries, refs) are not read as field names.

`tests/unit/test_integer_fields.py` keeps the tables below in step with the REST spec.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

import orjson

INT: Final = 32
LONG: Final = 64

#: Fields that hold one integer, by name: the REST spec's `format: int64` and the Iceberg table
#: and view metadata's longs are 64-bit; every other id, count of columns or version is 32-bit.
FIELDS: Final[dict[str, int]] = {
    # 32-bit: ids of schemas, fields, partition specs, sort orders, view versions
    "current-schema-id": INT,
    "current-version-id": INT,
    "default-sort-order-id": INT,
    "default-spec-id": INT,
    "element-id": INT,
    "field-id": INT,
    "format-version": INT,
    "id": INT,
    "key-id": INT,
    "last-assigned-field-id": INT,
    "last-assigned-partition-id": INT,
    "last-column-id": INT,
    "last-partition-id": INT,
    "min-snapshots-to-keep": INT,
    "order-id": INT,
    "schema-id": INT,
    "sort-order-id": INT,
    "source-id": INT,
    "spec-id": INT,
    "value-id": INT,
    "version-id": INT,
    "view-version-id": INT,
    # 64-bit: snapshot ids, sequence numbers, timestamps, ages, sizes, row and metric counts
    "added-rows": LONG,
    "content-offset": LONG,
    "content-size-in-bytes": LONG,
    "count": LONG,
    "current-snapshot-id": LONG,
    "end-snapshot-id": LONG,
    "file-footer-size-in-bytes": LONG,
    "file-size-in-bytes": LONG,
    "first-row-id": LONG,
    "last-sequence-number": LONG,
    "last-updated-ms": LONG,
    "max-ref-age-ms": LONG,
    "max-snapshot-age-ms": LONG,
    "min-rows-requested": LONG,
    "next-row-id": LONG,
    "parent-snapshot-id": LONG,
    "record-count": LONG,
    "sequence-number": LONG,
    "snapshot-id": LONG,
    "start-snapshot-id": LONG,
    "timestamp-ms": LONG,
    "total-duration": LONG,
    "value": LONG,
}

#: Fields that hold a list of integers. `fields` is one in blob metadata and a list of objects
#: in schemas, partition specs and sort orders: objects in these lists are walked as usual.
LISTS: Final[dict[str, int]] = {
    "delete-file-references": INT,
    "equality-ids": INT,
    "fields": INT,
    "identifier-field-ids": INT,
    "projected-field-ids": INT,
    "schema-ids": INT,
    "source-ids": INT,
    "spec-ids": INT,
    "snapshot-ids": LONG,
    "split-offsets": LONG,
}

#: Objects whose keys are chosen by the client, never field names (`updates` is one in
#: set-properties, a list of updates in a commit). Refs and metrics are maps too, but of
#: objects whose own keys are field names; a key naming an object is never checked as a field.
_MAPS: Final = frozenset(
    {"properties", "summary", "updates", "config", "defaults", "overrides", "metadata", "headers"}
)
#: Values of any JSON type (a column default is a float for a double column).
_FREE: Final = frozenset({"initial-default", "write-default", "filter"})

LONG_MAX: Final = 2**63 - 1
_RANGES: Final = {INT: (-(2**31), 2**31 - 1), LONG: (-(2**63), LONG_MAX)}
_NAMES: Final = {INT: "an int (signed 32-bit)", LONG: "a long (signed 64-bit)"}
_LONG_MIN, _LONG_MAX = _RANGES[LONG]
_TWO_63: Final = 2.0**63
_ONLY_STRINGS: Final = frozenset({str})
_CONTEXTUAL: Final = frozenset({"key-id", "value"})
_RECHECK: Final = "(decode exactly and check again)"

# A path is built only when there is something to report: (parent path, key or index).
_Path = tuple[Any, str | int] | None


def _render(path: _Path) -> str:
    parts: list[str] = []
    while path is not None:
        path, key = path
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    text = "".join(reversed(parts)).lstrip(".")
    return text or "body"


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _typed(value: Any, bits: int, path: _Path) -> str | None:
    """What is wrong with `value` as an integer field of `bits`, if anything."""
    low, high = _RANGES[bits]
    if (type(value) is int and low <= value <= high) or value is None:
        return None  # null: absent, where the spec allows it (pydantic decides)
    why = "is out of range" if type(value) is int else "is not an integer"
    return f"{_render(path)}: {_show(value)} {why}; it must be {_NAMES[bits]}"


def _field_bits(container: dict[str, Any], key: str) -> int | None:
    bits = FIELDS.get(key)
    if key == "key-id" and container.get("type") != "map":
        return None  # an encryption key's id, a string
    if key == "value" and "unit" not in container:
        return None  # a literal, not a metrics counter
    return bits


def _untyped(value: Any, path: _Path, lossy: bool) -> str | None:
    """A number where the spec names no integer: any finite number, no integer beyond 64 bits."""
    kind = type(value)
    if kind is int and not _LONG_MIN <= value <= _LONG_MAX:
        return f"{_render(path)}: {_show(value)} is out of the signed 64-bit range of any integer"
    if kind is float:
        if not math.isfinite(value):
            return f"{_render(path)}: {value} is not a JSON number"
        if lossy and abs(value) >= _TWO_63:
            return _RECHECK
    return None


def integer_problem(document: Any, *, lossy: bool = False) -> str | None:
    """The first integer field of `document` (a decoded JSON body or metadata document) that
    is not an integer of its type, or any integer beyond 64 bits, with its path; else None.

    `lossy` says the decoder turned integers beyond 64 bits into floats (orjson does): then a
    float that large may have been one, and the answer asks for an exact decoding.
    Iterative, so that nesting as deep as the JSON decoder allows cannot exhaust the stack.
    """
    stack: list[tuple[Any, _Path, bool]] = [(document, None, False)]
    while stack:
        node, path, free = stack.pop()
        problem: str | None = None
        if type(node) is dict:
            if free and set(map(type, node.values())) <= _ONLY_STRINGS:
                continue  # most maps: properties, summaries
            for key, value in node.items():
                kind = type(value)
                if kind is dict:
                    stack.append((value, (path, key), free or key in _MAPS or key in _FREE))
                    continue
                if kind is list:
                    items_bits = None if free else LISTS.get(key)
                    if items_bits is None:
                        stack.append((value, (path, key), free or key in _FREE))
                    elif problem := _list_problem(value, items_bits, (path, key), stack):
                        return problem
                    continue
                bits = None if free else FIELDS.get(key)
                if bits is not None and key in _CONTEXTUAL:
                    bits = _field_bits(node, key)
                if bits is None:
                    if kind is not str:
                        problem = _untyped(value, (path, key), lossy)
                elif kind is not int or not _RANGES[bits][0] <= value <= _RANGES[bits][1]:
                    problem = _typed(value, bits, (path, key))
                if problem:
                    return problem
        elif type(node) is list:
            for index, value in enumerate(node):
                kind = type(value)
                if kind is dict or kind is list:
                    stack.append((value, (path, index), free))
                elif kind is not str and (problem := _untyped(value, (path, index), lossy)):
                    return problem
        elif type(node) is not str:
            return _untyped(node, path, lossy)
    return None


def _list_problem(
    items: list[Any], bits: int, path: _Path, stack: list[tuple[Any, _Path, bool]]
) -> str | None:
    """A list of integers; objects in it (a schema's `fields`) are walked as usual."""
    low, high = _RANGES[bits]
    for index, item in enumerate(items):
        if type(item) is dict:
            stack.append((item, (path, index), False))
        elif (type(item) is not int or not low <= item <= high) and (
            problem := _typed(item, bits, (path, index))
        ):
            return problem
    return None


def metadata_problem(text: str) -> str | None:
    """`integer_problem` of a metadata document's JSON text, as the store is about to keep it.

    orjson decodes it quickly, but reads an integer beyond 64 bits as a float; a float that
    large outside the integer fields (a column default, say) is rare, and then the text is
    decoded again by the standard library, which keeps every integer exact.
    """
    return decoded_metadata_problem(orjson.loads(text), text)


def decoded_metadata_problem(document: Any, text: str) -> str | None:
    """`metadata_problem` of `text`, already decoded by orjson into `document`."""
    problem = integer_problem(document, lossy=True)
    if problem == _RECHECK:
        return integer_problem(json.loads(text))
    return problem
