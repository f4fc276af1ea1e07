"""An object store confined to one location prefix: every path is checked before any I/O.

Metadata names files by client-chosen paths. Whatever acts on those paths for the catalog
(maintenance, purge) goes through a store confined to the table's location, so a path that
points elsewhere (another table's manifest list, a file of another warehouse) is refused here,
with `OutsideLocation`, before a byte is read or deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import unquote, urlsplit

from storage.io import ObjectInfo, ObjectStore
from storage.locations import is_within

_SCHEMES = {"s3a": "s3", "s3n": "s3"}


class OutsideLocation(Exception):
    """A path outside the location a store is confined to; nothing was read or deleted."""

    def __init__(self, location: str, root: str) -> None:
        super().__init__(f"{location} is outside {root}")
        self.location = location
        self.root = root


def _canonical(location: str) -> str | None:
    """`scheme://netloc/path` with scheme aliases folded, or None for a path no backend would
    read the way it reads: dot segments (raw or percent-encoded), a query or fragment, a host
    on a `file:` URI (pyarrow would take it as a relative path), no scheme at all."""
    parts = urlsplit(location)
    scheme = _SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
    if not scheme or parts.query or parts.fragment or "\\" in location:
        return None
    if scheme == "file" and parts.netloc:
        return None
    for path in (parts.path, unquote(parts.path)):
        if any(segment in (".", "..") for segment in path.split("/")):
            return None
    if parts.path != unquote(parts.path):
        return None  # one spelling per object: backends differ on decoding escapes
    return f"{scheme}://{parts.netloc}{parts.path}"


def within(location: str, root: str) -> bool:
    """True when `location` names an object under `root`, in every backend's reading of it."""
    canonical, canonical_root = _canonical(location), _canonical(root)
    if canonical is None or canonical_root is None:
        return False
    return canonical.rstrip("/") != canonical_root.rstrip("/") and is_within(
        canonical, canonical_root
    )


class ConfinedObjectStore:
    """An `ObjectStore` that refuses every location outside `root`.

    `open_store` gives the store that does the I/O; it is asked on every call so that a store
    built on expiring credentials can be replaced when they are renewed.
    """

    def __init__(self, root: str, open_store: Callable[[], ObjectStore]) -> None:
        self.root = root.rstrip("/") + "/"
        self._open = open_store

    def check(self, location: str) -> None:
        if not within(location, self.root):
            raise OutsideLocation(location, self.root)

    def contains(self, location: str) -> bool:
        return within(location, self.root)

    def write_new(self, location: str, data: bytes) -> None:
        self.check(location)
        self._open().write_new(location, data)

    def read(self, location: str) -> bytes:
        self.check(location)
        return self._open().read(location)

    def exists(self, location: str) -> bool:
        self.check(location)
        return self._open().exists(location)

    def delete(self, location: str) -> None:
        self.check(location)
        self._open().delete(location)

    def _check_prefix(self, prefix: str) -> None:
        if prefix.rstrip("/") + "/" != self.root or _canonical(self.root) is None:
            self.check(prefix)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        self._check_prefix(prefix)
        for info in self._open().list(prefix):
            if self.contains(info.location):
                yield info

    def delete_prefix(self, prefix: str) -> int:
        """Only objects listed under `prefix` (itself under `root`) are deleted."""
        self._check_prefix(prefix)
        return self._open().delete_prefix(prefix)
