"""Stored table metadata, decoded and checked once per table version in this process.

A commit reads its table's stored document; at 1,000 snapshots decoding it costs a few
milliseconds and checking its integers several more, on every commit. The document path never
changes a document in place (`document_updates`), so the one a commit produced is the next
commit's base as it is: kept here by table, and used only while the stored text is still the
text it was decoded from (one string comparison), so a commit through another process, a
drop and re-create or an operator's edit is always read afresh.

A document read afresh is held to the store's integer guard (`catalog.integers`): one that
fails it was stored before the guard existed or edited by hand, and is the server's fault.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import orjson

from catalog.integers import decoded_metadata_problem
from catalog.store.records import ObjectRecord

Document = dict[str, Any]


class StoredDocuments:
    """The last document of each of the `capacity` tables committed to most recently."""

    def __init__(self, capacity: int = 16) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[str, Document]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, record: ObjectRecord) -> Document:
        """The decoded `record.metadata_json`: shared, so never to be changed in place."""
        with self._lock:
            entry = self._entries.get(record.id)
            if entry is not None and entry[0] == record.metadata_json:
                self._entries.move_to_end(record.id)
                return entry[1]
        try:
            document: Document = orjson.loads(record.metadata_json)
        except orjson.JSONDecodeError as error:
            raise RuntimeError(f"Stored table metadata does not parse: {error}") from error
        problem = decoded_metadata_problem(document, record.metadata_json)
        if problem is not None:
            raise RuntimeError(f"Stored table metadata does not parse: {problem}")
        self.put(record.id, record.metadata_json, document)
        return document

    def put(self, object_id: str, text: str, document: Document) -> None:
        """`document` is what `text` decodes to, and was stored as the table's metadata."""
        with self._lock:
            self._entries[object_id] = (text, document)
            self._entries.move_to_end(object_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
