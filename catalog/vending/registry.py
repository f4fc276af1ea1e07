"""Which vendor serves a warehouse, chosen by its storage profile's `vending` or `type`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from catalog.embedded_store import EMBEDDED, EmbeddedStore
from catalog.store.records import WarehouseRecord
from catalog.vending.base import DEFAULT_TTL, TTL_PROPERTY, CredentialVendor
from catalog.vending.embedded import EmbeddedVendor
from catalog.vending.r2 import R2, R2Profiles, R2VendorFactory
from catalog.vending.sts import STS, StsVendorFactory

VendorFactory = Callable[[dict[str, Any]], CredentialVendor]


def cloud_factories(r2: R2Profiles) -> dict[str, VendorFactory]:
    """Vendors for storage outside this process: `{"type": "r2"}` asks Cloudflare's API,
    `{"vending": "sts"}` (on any S3 profile) asks an STS."""
    return {R2: R2VendorFactory(r2), STS: StsVendorFactory()}


class VendorRegistry:
    def __init__(
        self,
        embedded: EmbeddedStore | None,
        factories: dict[str, VendorFactory] | None = None,
    ) -> None:
        self._factories: dict[str, VendorFactory] = dict(factories or {})
        if embedded is not None:
            vendor = EmbeddedVendor(embedded.authority, embedded.endpoint)
            self._factories[EMBEDDED] = lambda profile: vendor

    def vendor(
        self, warehouse: WarehouseRecord, profile: dict[str, Any]
    ) -> CredentialVendor | None:
        factory = self._factories.get(self.kind(warehouse))
        return factory(profile) if factory else None

    @staticmethod
    def kind(warehouse: WarehouseRecord) -> str:
        """Which vendor: the profile's `vending`, else its storage `type` (embedded, r2)."""
        return str(warehouse.storage.get("vending") or warehouse.storage.get("type") or "")

    @staticmethod
    def ttl(warehouse: WarehouseRecord) -> timedelta:
        raw = warehouse.properties.get(TTL_PROPERTY)
        if raw and raw.isdigit() and int(raw) > 0:
            return timedelta(seconds=int(raw))
        return DEFAULT_TTL
