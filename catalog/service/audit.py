"""The audit log: every write and every admin action, with who, what, when and how it ended."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.service.context import ServiceContext
from catalog.service.ports import AuditLog
from catalog.store.records import AuditRecord


@dataclass(frozen=True)
class AuditEntry:
    """The record of a write, handed to the mutation so that it lands in the mutation's own
    transaction with the outcome the route answers on success. Written afterwards instead, it
    was a second write transaction (a second fsync on SQLite, the write lock taken twice) for
    every commit; a change that fails rolls it back, and the access layer records the
    failure as for any other request."""

    principal: str
    operation: str
    target: str
    request_id: str
    status: int

    def write(self, tx: AuditLog) -> None:
        tx.insert_audit(self.principal, self.operation, self.target, self.request_id, self.status)


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
