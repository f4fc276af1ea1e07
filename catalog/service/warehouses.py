"""Warehouses: a name, a storage location, and a storage profile checked at creation.

A profile's secrets are stored sealed (`StorageResolver.seal`): a new warehouse's before its
row is written, and those of warehouses stored before secrets were sealed on start.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from catalog.exceptions import BadRequest, NoSuchWarehouse
from catalog.service.approval import ApprovalSettings, check_settings
from catalog.service.context import ServiceContext
from catalog.service.identifiers import check_warehouse_name
from catalog.service.locations import normalize_location
from catalog.store.records import WarehouseRecord

log = logging.getLogger("icefloe.warehouses")


class Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


W = TypeVar("W", bound=Named)


def choose_warehouse(warehouses: Sequence[W], requested: str | None, default: str) -> W:
    """The warehouse a client asked for (by name or id); with none named, the only one or
    the default. `warehouses` in name order."""
    if requested:
        for warehouse in warehouses:
            if warehouse.name == requested or warehouse.id == requested:
                return warehouse
        raise NoSuchWarehouse(f"Warehouse does not exist: {requested}")
    if len(warehouses) == 1:
        return warehouses[0]
    for warehouse in warehouses:
        if warehouse.name == default:
            return warehouse
    names = ", ".join(w.name for w in warehouses) or "none exist"
    raise BadRequest(f"Name a warehouse with ?warehouse= (available: {names})")


class WarehouseService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def list(self) -> list[WarehouseRecord]:
        with self._context.store.read() as tx:
            return tx.list_warehouses()

    def get(self, name: str) -> WarehouseRecord:
        with self._context.store.read() as tx:
            return self._context.warehouse(tx, name)

    def resolve(self, requested: str | None, default: str) -> WarehouseRecord:
        return choose_warehouse(self.list(), requested, default)

    def create(
        self,
        name: str,
        location: str,
        storage: dict[str, Any] | None = None,
        properties: dict[str, str] | None = None,
        *,
        verify: bool = True,
    ) -> WarehouseRecord:
        check_warehouse_name(name)
        location = normalize_location(location, "warehouse location")
        storage = storage or {}
        try:
            self._context.storage.prepare(location, storage)
        except Exception as error:
            raise BadRequest(f"Storage check failed at {location}: {error}") from error
        if verify:
            self._verify_storage(location, storage)
        sealed = self._context.storage.seal(storage)
        with self._context.store.write() as tx:
            return tx.insert_warehouse(name, location, sealed, properties or {})

    def _verify_storage(self, location: str, storage: dict[str, Any]) -> None:
        """Write, read, list and delete a probe, so a bad profile fails now, not at a commit."""
        probe = f"{location}/.icefloe-probe-{uuid.uuid4().hex}"
        try:
            store = self._context.storage.open(location, self._context.storage.resolve(storage))
            store.write_new(probe, b"icefloe")
            if store.read(probe) != b"icefloe":
                raise BadRequest(f"Storage check failed at {location}: read back other bytes")
            if not any(
                info.location.endswith(probe.rsplit("/", 1)[-1])
                for info in store.list(location + "/")
            ):
                raise BadRequest(f"Storage check failed at {location}: probe not listed")
            store.delete(probe)
        except BadRequest:
            raise
        except Exception as error:
            raise BadRequest(f"Storage check failed at {location}: {error}") from error

    def seal_stored_secrets(self) -> int:
        """On start: seal the clear secrets of warehouses stored before secrets were sealed, and
        check that every sealed one opens with this server's key, so that a wrong key stops
        the server instead of failing clients' requests. Returns how many rows were sealed."""
        secrets = self._context.storage.secrets
        if secrets is None:
            return 0
        warehouses = self.list()
        for warehouse in warehouses:
            secrets.verify(warehouse.storage)
        stale = [w for w in warehouses if secrets.seal(w.storage) != w.storage]
        if not stale:
            return 0
        with self._context.store.write() as tx:
            for warehouse in stale:
                current = tx.warehouse_by_name(warehouse.name)
                if current is not None:
                    tx.update_warehouse_storage(current.id, secrets.seal(current.storage))
        log.warning(
            "event=warehouse_secrets_sealed warehouses=%s detail=%s",
            ",".join(w.name for w in stale),
            "secrets stored in clear by an older version are now sealed",
        )
        return len(stale)

    def approval(self, name: str) -> ApprovalSettings | None:
        warehouse = self.get(name)
        return ApprovalSettings.parse(warehouse.approval) if warehouse.approval else None

    def set_approval(self, name: str, settings: ApprovalSettings) -> ApprovalSettings:
        """Replace a warehouse's approval settings; without a new secret, the stored one is
        kept (so that changing the timeout does not need the secret again)."""
        with self._context.store.write() as tx:
            warehouse = self._context.warehouse(tx, name)
            if settings.secret is None and warehouse.approval:
                kept = warehouse.approval.get("secret")
                settings = ApprovalSettings(
                    settings.url,
                    kept,
                    settings.timeout_seconds,
                    settings.fail_open,
                    settings.rules,
                )
            check_settings(settings)
            stored = settings.stored()
            if settings.secret:
                stored["secret"] = self._context.storage.seal({"secret": settings.secret})["secret"]
            tx.set_warehouse_approval(warehouse.id, stored)
        return ApprovalSettings.parse(stored)

    def clear_approval(self, name: str) -> None:
        with self._context.store.write() as tx:
            warehouse = self._context.warehouse(tx, name)
            tx.set_warehouse_approval(warehouse.id, None)

    def delete(self, name: str) -> None:
        with self._context.store.write() as tx:
            warehouse = self._context.warehouse(tx, name)
            tx.delete_warehouse(warehouse.id)

    def ensure(self, name: str, location: str, storage: dict[str, Any]) -> WarehouseRecord:
        with self._context.store.read() as tx:
            existing = tx.warehouse_by_name(name)
        if existing is not None:
            return existing
        log.info("event=warehouse_created name=%s location=%s", name, location)
        return self.create(name, location, storage)
