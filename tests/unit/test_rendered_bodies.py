"""The fast path's body cache (catalog/api/tables_fast.py): an entry is served only for the
pointer it was rendered from, and the cache never holds more bytes than its bound."""

from __future__ import annotations

from catalog.api.tables_fast import RenderedBodies
from catalog.service.rendering import commit_result, load_result, with_config
from catalog.store.pointers import Pointer


def pointer(object_id: str, version: int = 1, location: str = "s3://b/t/m1.json") -> Pointer:
    return Pointer(object_id, "table", version, location, "s3://b/t", "w")


def test_an_entry_is_served_only_for_the_version_and_location_it_was_rendered_from() -> None:
    bodies = RenderedBodies(max_bytes=1_000)
    bodies.put(pointer("a"), "all", b"body-1")
    assert bodies.get(pointer("a"), "all") == b"body-1"
    assert bodies.get(pointer("a"), "refs") is None
    assert bodies.get(pointer("a", version=2), "all") is None
    assert bodies.get(pointer("a", location="s3://b/t/m2.json"), "all") is None
    bodies.put(pointer("a", version=2), "all", b"body-2")
    assert bodies.get(pointer("a"), "all") is None
    assert bodies.get(pointer("a", version=2), "all") == b"body-2"


def test_the_least_recently_used_bodies_leave_first_and_the_bytes_stay_bounded() -> None:
    bodies = RenderedBodies(max_bytes=800)
    for name in "abcdefghi":
        bodies.put(pointer(name), "all", name.encode() * 100)
        assert bodies.bytes <= 800
    assert bodies.get(pointer("a"), "all") is None
    assert bodies.get(pointer("i"), "all") == b"i" * 100
    assert bodies.get(pointer("b"), "all") == b"b" * 100
    bodies.put(pointer("z"), "all", b"z" * 101)  # over an eighth of the bound: not kept
    assert bodies.get(pointer("z"), "all") is None


def test_a_delegated_body_from_the_cached_one_is_the_body_rendered_with_its_config() -> None:
    credential = {"prefix": "s3://b/t/", "config": {"s3.access-key-id": "k"}}
    for location in ("s3://b/t/metadata/1.json", None):
        plain = load_result(location, '{"format-version":2}', {})
        for config, credentials in (
            ({}, []),
            ({"s3.signer.uri": "http://h"}, []),
            ({"s3.access-key-id": "k"}, [credential]),
        ):
            expected = load_result(location, '{"format-version":2}', config, credentials)
            assert with_config(plain, config, credentials) == expected


def test_a_commit_response_from_the_documents_bytes_is_the_one_from_its_stored_text() -> None:
    text = '{"format-version":2,"location":"s3://b/t","properties":{"k":"v\u00e9"}}'
    expected = b'{"metadata-location":"s3://b/t/m2.json","metadata":' + text.encode() + b"}"
    assert commit_result("s3://b/t/m2.json", text) == expected
    assert commit_result("s3://b/t/m2.json", text.encode("utf-8")) == expected
