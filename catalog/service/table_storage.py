"""One table's files, as the catalog itself reaches them: only under the table's location.

Metadata names files by paths a client chose. Whenever the catalog acts on those paths on its
own authority (maintenance reads, rewrites and deletes; purge), it goes through `TableStorage`:

- every path is checked against the table's location before any I/O (`storage.confined`), and
- on a warehouse with a credential vendor (the embedded store, R2, STS) the I/O is done with
  credentials vended for the table's prefix, read-write, never the store's root keys: the store
  itself refuses what the check might miss. They are vended again shortly before they expire,
  so a long job keeps working.

A warehouse without a vendor (static S3 keys with no vending, local folders) has only the
prefix check.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from catalog.exceptions import StorageUnavailable
from catalog.service.context import ServiceContext
from catalog.store.records import WarehouseRecord
from catalog.vending.base import Access, StorageCredential, VendingUnavailable
from catalog.vending.registry import VendorRegistry
from storage.confined import ConfinedObjectStore, OutsideLocation, within
from storage.io import ObjectStore, S3ObjectStore

__all__ = ["OutsideLocation", "TableStorage", "vend"]

# Vend again when less than this is left: no request starts on credentials about to lapse.
RENEW_BEFORE = timedelta(minutes=5)
_S3_SCHEMES = ("s3://", "s3a://", "s3n://")


def vend(
    context: ServiceContext, warehouse: WarehouseRecord, table_location: str, access: Access
) -> StorageCredential | None:
    """Credentials for `table_location` and below, or None when the warehouse has no vendor."""
    profile = context.storage.profile(warehouse)
    vendor = context.vendors.vendor(warehouse, profile)
    if vendor is None:
        return None
    prefix = table_location.rstrip("/") + "/"
    try:
        return vendor.vend(prefix, access, VendorRegistry.ttl(warehouse))
    except VendingUnavailable as error:
        raise StorageUnavailable(f"Credential vending failed: {error}") from error


class TableStorage:
    """The files of the table at `location`, and nothing else."""

    def __init__(self, context: ServiceContext, warehouse: WarehouseRecord, location: str) -> None:
        self._context = context
        self._warehouse = warehouse
        self.location = location.rstrip("/") + "/"
        self._lock = threading.Lock()
        self._credential: StorageCredential | None = None
        self._s3_store: ObjectStore | None = None
        self._vended = location.startswith(_S3_SCHEMES) and (
            context.vendors.vendor(warehouse, context.storage.profile(warehouse)) is not None
        )
        self.store = ConfinedObjectStore(self.location, self._open_store)

    @property
    def vended(self) -> bool:
        """True when I/O uses credentials vended for this table, not the warehouse's keys."""
        return self._vended

    def contains(self, path: str) -> bool:
        return within(path, self.location)

    def check(self, path: str) -> None:
        """Raises `OutsideLocation` for a path outside the table's location."""
        if not self.contains(path):
            raise OutsideLocation(path, self.location)

    def credential(self) -> StorageCredential | None:
        """The vended credential in use (renewed when near expiry), or None without a vendor."""
        if not self._vended:
            return None
        with self._lock:
            now = datetime.now(UTC)
            if self._credential is None or self._credential.expires_at - now < RENEW_BEFORE:
                self._credential = vend(self._context, self._warehouse, self.location, "write")
                self._s3_store = None
            return self._credential

    def file_io_properties(self) -> dict[str, str]:
        """pyiceberg FileIO properties that reach the table's files (pyarrow's FileIO)."""
        properties: dict[str, str] = {}
        if not self.location.startswith(_S3_SCHEMES):
            return properties
        credential = self.credential()
        if credential is not None:
            properties.update({k: str(v) for k, v in credential.config.items() if v is not None})
        else:
            profile = self._context.storage.profile(self._warehouse)
            keys = {
                "endpoint": "s3.endpoint",
                "access-key-id": "s3.access-key-id",
                "secret-access-key": "s3.secret-access-key",
                "session-token": "s3.session-token",
                "region": "s3.region",
            }
            properties.update({name: str(profile[k]) for k, name in keys.items() if profile.get(k)})
            path_style = profile.get("path-style-access", True)
            properties["s3.path-style-access"] = "true" if path_style else "false"
        # The engine reads and writes with pyarrow, whatever a vendor suggests to clients.
        properties["py-io-impl"] = "pyiceberg.io.pyarrow.PyArrowFileIO"
        return properties

    def _open_store(self) -> ObjectStore:
        credential = self.credential()
        if credential is None:
            return self._context.storage.for_warehouse(self._warehouse)
        with self._lock:
            if self._s3_store is None:
                self._s3_store = S3ObjectStore(_s3_profile(credential.config))
            return self._s3_store


def _s3_profile(config: dict[str, str]) -> dict[str, Any]:
    """A storage profile (as `S3ObjectStore` reads it) from vended client properties."""
    return {
        "endpoint": config.get("s3.endpoint"),
        "access-key-id": config.get("s3.access-key-id"),
        "secret-access-key": config.get("s3.secret-access-key"),
        "session-token": config.get("s3.session-token"),
        "region": config.get("s3.region") or config.get("client.region") or "auto",
        "path-style-access": config.get("s3.path-style-access", "true") == "true",
    }
