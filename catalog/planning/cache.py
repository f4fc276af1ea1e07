"""The manifest cache: decoded manifests and manifest lists, shared by every plan of the process.

Manifests and manifest lists are immutable (a commit writes new ones), so the path alone is a
safe key and an entry never goes stale. The cache is bounded by an estimate of the decoded size
(DECODED_PER_ENCODED_BYTE times the file's length, the only size known before decoding); the
least recently used entries leave first. Hits and misses are counted in the process's metrics.

A file is loaded once however many requests (or read-ahead threads) ask for it at the same
time: the others wait for that one load. The cache also keeps each data manifest entry's
rendered JSON (`rendered`), under the manifest's path and what the rendering depends on, with
the bytes rendered counted against the same bound.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from catalog.observability import metrics

# Avro manifests are compact: decoded ManifestEntry objects take several times the file's bytes.
DECODED_PER_ENCODED_BYTE = 8
# What an empty table of rendered entries costs (its dict), before any entry is rendered.
RENDERED_TABLE_BYTES = 256

T = TypeVar("T")


class ManifestCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self._loading: dict[str, Future[Any]] = {}
        self.bytes_held = 0

    def get(self, path: str, encoded_length: int, load: Callable[[], Sequence[T]]) -> Sequence[T]:
        """The decoded contents of the file at `path`, loaded once while it stays cached."""
        with self._lock:
            found = self._entries.get(path)
            if found is not None:
                self._entries.move_to_end(path)
                metrics.PLANNING_CACHE.labels("hit").inc()
                return found[1]  # type: ignore[no-any-return]
            pending = self._loading.get(path)
            if pending is None:
                self._loading[path] = loading = Future[Any]()
        if pending is not None:  # another thread is reading it: its result, not a second read
            metrics.PLANNING_CACHE.labels("hit").inc()
            return pending.result()  # type: ignore[no-any-return]
        metrics.PLANNING_CACHE.labels("miss").inc()
        try:
            loaded = load()
        except BaseException as error:
            with self._lock:
                del self._loading[path]
            loading.set_exception(error)
            raise
        with self._lock:
            del self._loading[path]
            cost = max(1, encoded_length) * DECODED_PER_ENCODED_BYTE
            if cost <= self.max_bytes and path not in self._entries:
                self._entries[path] = (cost, loaded)
                self.bytes_held += cost
                self._evict()
        loading.set_result(loaded)
        return loaded

    def cached(self, path: str) -> bool:
        with self._lock:
            return path in self._entries or path in self._loading

    def rendered(self, key: str) -> dict[int, Any]:
        """The table of rendered entries kept under `key` (position -> rendering), created
        empty; fill it with `charge`d renderings. Not counted as a hit or miss."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found[1]  # type: ignore[no-any-return]
            table: dict[int, Any] = {}
            if self.max_bytes >= RENDERED_TABLE_BYTES:
                self._entries[key] = (RENDERED_TABLE_BYTES, table)
                self.bytes_held += RENDERED_TABLE_BYTES
                self._evict()
            return table

    def charge(self, key: str, size: int) -> None:
        """Counts `size` more bytes held by the entry `key` (if it is still cached)."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return
            self._entries[key] = (found[0] + size, found[1])
            self.bytes_held += size
            self._evict()

    def _evict(self) -> None:
        while self.bytes_held > self.max_bytes and self._entries:
            _, (freed, _) = self._entries.popitem(last=False)
            self.bytes_held -= freed

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
