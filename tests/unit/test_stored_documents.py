"""`StoredDocuments`: a table's decoded metadata is reused only while the stored text is the
text it was decoded from, and a stored document that fails the integer guard is a 500."""

from __future__ import annotations

import json

import orjson
import pytest

from catalog.service.stored_documents import StoredDocuments
from catalog.store.records import ObjectRecord

DOCUMENT = {"format-version": 2, "location": "s3://b/w/t", "last-updated-ms": 1, "snapshots": []}


def _record(text: str, version: int = 1) -> ObjectRecord:
    return ObjectRecord("t1", "w", ("ns",), "t", "table", "s3://b/w/t/m.json", text, version, "")


def test_a_document_is_decoded_once_while_its_text_is_unchanged() -> None:
    documents = StoredDocuments()
    text = orjson.dumps(DOCUMENT).decode()
    first = documents.get(_record(text))
    assert first == DOCUMENT
    assert documents.get(_record(str(text), 2)) is first


def test_a_changed_text_is_read_afresh() -> None:
    documents = StoredDocuments()
    documents.get(_record(orjson.dumps(DOCUMENT).decode()))
    changed = {**DOCUMENT, "last-updated-ms": 2}
    assert documents.get(_record(orjson.dumps(changed).decode()))["last-updated-ms"] == 2


def test_what_a_commit_stored_is_the_next_base() -> None:
    documents = StoredDocuments()
    text = orjson.dumps(DOCUMENT).decode()
    documents.put("t1", text, DOCUMENT)
    assert documents.get(_record(text)) is DOCUMENT


def test_the_least_recently_used_table_is_forgotten() -> None:
    documents = StoredDocuments(capacity=1)
    text = orjson.dumps(DOCUMENT).decode()
    documents.put("t1", text, DOCUMENT)
    documents.put("t2", text, {**DOCUMENT})
    assert documents.get(_record(text)) is not DOCUMENT


@pytest.mark.parametrize("snapshot_id", [float(2**64), 2**64, 1.5])
def test_a_stored_document_that_fails_the_integer_guard_is_the_servers_fault(
    snapshot_id: float,
) -> None:
    stored = {**DOCUMENT, "snapshots": [{"snapshot-id": snapshot_id}]}
    with pytest.raises(RuntimeError, match="does not parse"):
        StoredDocuments().get(_record(json.dumps(stored)))


def test_a_stored_text_that_is_no_json_is_the_servers_fault() -> None:
    with pytest.raises(RuntimeError, match="does not parse"):
        StoredDocuments().get(_record("{"))
