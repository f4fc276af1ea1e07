"""The audit log: every write and every admin action, with who, what, when and how it ended."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.service.context import ServiceContext
from catalog.store.records import AuditRecord


class AuditService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def record(
        self, principal: str, operation: str, target: str, request_id: str, status: int
    ) -> None:
        with self._context.store.write() as tx:
            tx.insert_audit(principal, operation, target, request_id, status)

    def list(self, limit: int = 100, before_id: int | None = None) -> list[AuditRecord]:
        with self._context.store.read() as tx:
            return tx.list_audit(max(1, min(limit, 1000)), before_id)


@dataclass(frozen=True)
class Actor:
    """Who caused a change the service records itself (a drop to the trash, an undrop, a
    purge): for an API request its principal and request id, for the CLI and the scheduler
    their own names."""

    principal: str
    request_id: str


CLI = Actor("icefloe-cli", "cli")
SCHEDULER = Actor("icefloe-scheduler", "scheduler")
