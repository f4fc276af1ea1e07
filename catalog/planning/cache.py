"""The manifest cache: decoded manifests and manifest lists, shared by every plan of the process.

Manifests and manifest lists are immutable (a commit writes new ones), so the path alone is a
safe key and an entry never goes stale. The cache is bounded by an estimate of the decoded size
(DECODED_PER_ENCODED_BYTE times the file's length, the only size known before decoding); the
least recently used entries leave first. Hits and misses are counted in the process's metrics.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TypeVar

from catalog.observability import metrics

# Avro manifests are compact: decoded ManifestEntry objects take several times the file's bytes.
DECODED_PER_ENCODED_BYTE = 8

T = TypeVar("T")


class ManifestCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[int, Sequence[object]]] = OrderedDict()
        self.bytes_held = 0

    def get(self, path: str, encoded_length: int, load: Callable[[], Sequence[T]]) -> Sequence[T]:
        """The decoded contents of the file at `path`, loaded once while it stays cached."""
        with self._lock:
            found = self._entries.get(path)
            if found is not None:
                self._entries.move_to_end(path)
                metrics.PLANNING_CACHE.labels("hit").inc()
                return found[1]  # type: ignore[return-value]
        metrics.PLANNING_CACHE.labels("miss").inc()
        loaded = load()
        cost = max(1, encoded_length) * DECODED_PER_ENCODED_BYTE
        if cost > self.max_bytes:
            return loaded
        with self._lock:
            if path not in self._entries:
                self._entries[path] = (cost, loaded)
                self.bytes_held += cost
            while self.bytes_held > self.max_bytes and self._entries:
                _, (freed, _) = self._entries.popitem(last=False)
                self.bytes_held -= freed
        return loaded

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
