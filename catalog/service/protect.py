"""Setting and clearing deletion protection from the admin API and the CLI.

The mark is the object's `icefloe.protected` property (`service.protection`), so protecting a
table or view is a commit like any other (a new metadata file, the same compare-and-swap),
made by the catalog itself; protecting a namespace is a properties update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from catalog.protocol import CommitTableRequest, CommitViewRequest
from catalog.service.audit import Actor
from catalog.service.context import ServiceContext
from catalog.service.identifiers import dotted
from catalog.service.namespaces import NamespaceService
from catalog.service.protection import PROTECTED, object_is_protected
from catalog.service.tables import TableService, require_object
from catalog.service.views import ViewService

Kind = Literal["table", "view", "namespace"]


class ProtectionService:
    def __init__(
        self,
        context: ServiceContext,
        namespaces: NamespaceService,
        tables: TableService,
        views: ViewService,
    ) -> None:
        self._context = context
        self._namespaces = namespaces
        self._tables = tables
        self._views = views

    def set(
        self,
        warehouse: str,
        kind: Kind,
        namespace: Sequence[str],
        name: str | None,
        protected: bool,
        actor: Actor,
    ) -> None:
        """Mark or unmark; doing it twice is harmless (no new metadata file the second time)."""
        if kind == "namespace":
            self._namespaces.update_properties(
                warehouse,
                namespace,
                [] if protected else [PROTECTED],
                {PROTECTED: "true"} if protected else {},
                None,
                placer=None,
            )
        else:
            assert name is not None
            # Already so: no new metadata file (and removing a missing property is an error).
            if self._is_marked(warehouse, kind, namespace, name) != protected:
                self._commit(warehouse, kind, namespace, name, protected)
        operation = f"{'protect' if protected else 'unprotect'}{kind.capitalize()}"
        target = "/".join(p for p in (warehouse, dotted(namespace), name or "") if p)
        with self._context.store.write() as tx:
            tx.insert_audit(actor.principal, operation, target, actor.request_id, 200)

    def _commit(
        self, warehouse: str, kind: Kind, namespace: Sequence[str], name: str, protected: bool
    ) -> None:
        change = (
            {"action": "set-properties", "updates": {PROTECTED: "true"}}
            if protected
            else {"action": "remove-properties", "removals": [PROTECTED]}
        )
        body = {"requirements": [], "updates": [change]}
        if kind == "table":
            request = CommitTableRequest.model_validate(body)
            self._tables.commit(warehouse, namespace, name, request, None, placer=None)
        else:
            view = CommitViewRequest.model_validate(body)
            self._views.replace(warehouse, namespace, name, view, None, placer=None)

    def _is_marked(self, warehouse: str, kind: Kind, namespace: Sequence[str], name: str) -> bool:
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_object(
                tx, found.id, namespace, name, "view" if kind == "view" else "table"
            )
        return object_is_protected(record)
