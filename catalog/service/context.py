"""What every part of the service shares: the store, object storage, and limits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from catalog.exceptions import NoSuchWarehouse
from catalog.service.paging import PageRequest, page_request
from catalog.service.ports import CatalogStore, CatalogTransaction, SecretSealer
from catalog.store.records import IdempotencyTicket, WarehouseRecord
from catalog.vending.registry import VendorRegistry
from storage.io import ObjectStore, object_store_for

ProfileResolver = Callable[[dict[str, Any]], dict[str, Any]]
StoragePreparer = Callable[[str, dict[str, Any]], None]
StoreOpener = Callable[[str, dict[str, Any]], ObjectStore]


@dataclass(frozen=True)
class Limits:
    default_page_size: int = 100
    max_page_size: int = 1000
    commit_retries: int = 8
    idempotency_lifetime: timedelta = timedelta(minutes=30)
    #: How long a dropped table or view stays in the trash where its warehouse names no
    #: `icefloe.trash.retention-seconds`; zero drops at once.
    trash_retention: timedelta = timedelta(days=7)

    def page(self, page_token: str | None, page_size: int | None) -> PageRequest:
        """A listing's page, within these limits (BadRequest for a size or token refused)."""
        return page_request(
            page_token,
            page_size,
            default_size=self.default_page_size,
            max_size=self.max_page_size,
        )


class StorageResolver:
    """One object store per warehouse, built from its storage profile on first use.

    `secrets` opens the profile's sealed secrets (each once per process) and reads those it
    names from the environment; `resolve_profile` fills in what is not stored in the database
    (the embedded store's endpoint and root keys, secrets taken from settings); `open_store`
    builds a store from a location and its resolved profile (the embedded store in-process
    when this process serves it, else `object_store_for`).
    """

    def __init__(
        self,
        resolve_profile: ProfileResolver | None = None,
        prepare: StoragePreparer | None = None,
        secrets: SecretSealer | None = None,
        open_store: StoreOpener = object_store_for,
    ) -> None:
        self._resolve = resolve_profile or (lambda profile: profile)
        self._prepare = prepare
        self.open = open_store
        self.secrets = secrets
        self._stores: dict[tuple[str, str], ObjectStore] = {}
        self._lock = threading.Lock()

    def profile(self, warehouse: WarehouseRecord) -> dict[str, Any]:
        return self.resolve(warehouse.storage)

    def resolve(self, profile: dict[str, Any]) -> dict[str, Any]:
        opened = self.secrets.open(profile) if self.secrets else dict(profile)
        return self._resolve(opened)

    def seal(self, profile: dict[str, Any]) -> dict[str, Any]:
        """The profile as it may be stored: its secrets sealed."""
        return self.secrets.seal(profile) if self.secrets else dict(profile)

    def prepare(self, location: str, profile: dict[str, Any]) -> None:
        """Whatever a new warehouse's storage needs first (a bucket on the embedded store)."""
        if self._prepare is not None:
            self._prepare(location, profile)

    def for_warehouse(self, warehouse: WarehouseRecord) -> ObjectStore:
        key = (warehouse.id, warehouse.location)
        with self._lock:
            store = self._stores.get(key)
            if store is None:
                store = self.open(warehouse.location, self.profile(warehouse))
                self._stores[key] = store
            return store


@dataclass
class ServiceContext:
    store: CatalogStore
    storage: StorageResolver
    limits: Limits = field(default_factory=Limits)
    vendors: VendorRegistry = field(default_factory=lambda: VendorRegistry(None))

    def warehouse(self, tx: CatalogTransaction, name: str) -> WarehouseRecord:
        return found_warehouse(tx.warehouse_by_name(name), name)


def found_warehouse(warehouse: WarehouseRecord | None, name: str) -> WarehouseRecord:
    """The warehouse read for `name`, or the error for its absence."""
    if warehouse is None:
        raise NoSuchWarehouse(f"Warehouse does not exist: {name}")
    return warehouse


def finalize(tx: CatalogTransaction, ticket: IdempotencyTicket | None, body: bytes) -> bytes:
    """Record the response under the client's Idempotency-Key, in the mutation's transaction."""
    if ticket is not None:
        tx.save_response(ticket, body)
    return body
