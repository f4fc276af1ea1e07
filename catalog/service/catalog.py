"""The service's front door: one object the API and the CLI hold."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.exceptions import IdempotencyKeyTaken
from catalog.service.audit import AuditService
from catalog.service.context import ServiceContext
from catalog.service.functions import FunctionService
from catalog.service.namespaces import NamespaceService
from catalog.service.protect import ProtectionService
from catalog.service.search import SearchService
from catalog.service.tables import TableService
from catalog.service.tokens import TokenService
from catalog.service.trash import TrashService
from catalog.service.views import ViewService
from catalog.service.warehouses import WarehouseService
from catalog.store.records import IdempotencyTicket, StoredResponse


class CatalogService:
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.warehouses = WarehouseService(context)
        self.namespaces = NamespaceService(context)
        self.tables = TableService(context)
        self.views = ViewService(context)
        self.functions = FunctionService(context)
        self.tokens = TokenService(context)
        self.audit = AuditService(context)
        self.trash = TrashService(context)
        self.protection = ProtectionService(context, self.namespaces, self.tables, self.views)
        self.search = SearchService(context)

    def stored_response(self, key: str) -> StoredResponse | None:
        not_before = datetime.now(UTC) - self.context.limits.idempotency_lifetime
        with self.context.store.read() as tx:
            return tx.stored_response(key, not_before)

    def save_error_response(self, key: str, fingerprint: str, status: int, body: bytes) -> None:
        try:
            with self.context.store.write() as tx:
                tx.save_response(IdempotencyTicket(key, fingerprint, status), body)
        except IdempotencyKeyTaken:
            return

    def forget_expired_responses(self) -> int:
        cutoff = datetime.now(UTC) - 2 * self.context.limits.idempotency_lifetime
        with self.context.store.write() as tx:
            return tx.forget_responses_before(cutoff)
