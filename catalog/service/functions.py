"""Catalog functions: list and load for every reader (the spec), create, replace and drop for
writers (the admin API and `icefloe function`).

A function lives in the database only: its metadata document is the row (the spec's
`metadata-location` is optional, and a function has no data files to sit beside). A replace is
a compare-and-swap on the row's version, retried on a lost race like a view's; every change
emits its change event in its own transaction, and the audit entry when the CLI made it (the
API's are written by the access layer). A drop sends the function to the warehouse's trash as
a table's does (`service.trash`). The deletion protection of tables and views applies:
`icefloe.protected=true` in a function's properties stops its drop, and only an admin may set
or clear it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from catalog.auth.principal import Principal
from catalog.events.types import EventType, object_event
from catalog.exceptions import NoSuchFunction, PointerMoved
from catalog.service.audit import CLI, Actor, AuditEntry
from catalog.service.context import ServiceContext
from catalog.service.function_metadata import (
    CreateFunctionRequest,
    FunctionMetadata,
    ReplaceFunctionRequest,
    bounded,
    new_function_metadata,
    parse_function_metadata,
    replaced_function_metadata,
)
from catalog.service.identifiers import check_new_name, dotted
from catalog.service.namespaces import require_namespace
from catalog.service.paging import next_token
from catalog.service.ports import CatalogTransaction
from catalog.service.protection import PROTECTED, check_property_keys
from catalog.service.rendering import dumps
from catalog.service.trash import discard_function
from catalog.store.records import FunctionRecord


def require_function(
    tx: CatalogTransaction, warehouse_id: str, namespace: Sequence[str], name: str
) -> FunctionRecord:
    """The function, or the spec's 404: NoSuchNamespace when the namespace is missing (as
    listFunctions), NoSuchFunction when only the function is."""
    require_namespace(tx, warehouse_id, namespace)
    record = tx.function(warehouse_id, namespace, name)
    if record is None:
        raise NoSuchFunction(f"Function does not exist: {dotted((*namespace, name))}")
    return record


def load_body(metadata_json: str) -> bytes:
    """LoadFunctionResult from the stored text, not parsed again; no `metadata-location`,
    since a function has no metadata file."""
    return b'{"metadata":' + metadata_json.encode("utf-8") + b"}"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _check_marking(who: Principal | None, before: dict[str, str], after: dict[str, str]) -> None:
    changed = before.get(PROTECTED) != after.get(PROTECTED)
    check_property_keys(who, [PROTECTED] if changed else [])


class FunctionService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def list(
        self,
        warehouse: str,
        namespace: Sequence[str],
        page_token: str | None,
        page_size: int | None,
    ) -> bytes:
        page = self._context.limits.page(page_token, page_size)
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            ns = require_namespace(tx, found.id, namespace)
            rows = tx.list_functions(ns.id, page.after, page.fetch)
        names, token = next_token(rows, page)
        identifiers = [[*namespace, name] for name in names]
        return dumps({"identifiers": identifiers, "next-page-token": token})

    def load(self, warehouse: str, namespace: Sequence[str], name: str) -> bytes:
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_function(tx, found.id, namespace, name)
        return load_body(record.metadata_json)

    def metadata(self, warehouse: str, namespace: Sequence[str], name: str) -> FunctionMetadata:
        """The function's metadata as a model (the CLI's `show`)."""
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_function(tx, found.id, namespace, name)
        return parse_function_metadata(record.metadata_json)

    def create(
        self,
        warehouse: str,
        namespace: Sequence[str],
        request: CreateFunctionRequest,
        *,
        who: Principal | None,
        audit: AuditEntry | None = None,
    ) -> bytes:
        name = check_new_name(request.name, "function name")
        _check_marking(who, {}, request.properties)
        metadata = new_function_metadata(request, _now_ms())
        text = bounded(metadata)
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            ns = require_namespace(tx, found.id, namespace)
            created = tx.insert_function(ns, name, text)
            tx.emit(
                object_event(
                    EventType.FUNCTION_CREATED,
                    warehouse,
                    created.id,
                    namespace,
                    name,
                    {"function-uuid": metadata.function_uuid},
                )
            )
            if audit is not None:
                audit.write(tx)
        return load_body(text)

    def replace(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        request: ReplaceFunctionRequest,
        *,
        who: Principal | None,
        audit: AuditEntry | None = None,
    ) -> bytes:
        attempts = self._context.limits.commit_retries + 1
        for attempt in range(attempts):
            with self._context.store.read() as tx:
                found = self._context.warehouse(tx, warehouse)
                record = require_function(tx, found.id, namespace, name)
            base = parse_function_metadata(record.metadata_json)
            _check_marking(who, base.properties, request.properties)
            metadata = replaced_function_metadata(base, request, _now_ms())
            text = bounded(metadata)
            try:
                with self._context.store.write() as tx:
                    tx.swap_function(record, text)
                    tx.emit(
                        object_event(
                            EventType.FUNCTION_REPLACED,
                            warehouse,
                            record.id,
                            namespace,
                            name,
                            {
                                "function-uuid": metadata.function_uuid,
                                "definition-versions": [
                                    {
                                        "definition-id": d.definition_id,
                                        "version-id": d.current_version_id,
                                    }
                                    for d in metadata.definitions
                                ],
                            },
                        )
                    )
                    if audit is not None:
                        audit.write(tx)
                return load_body(text)
            except PointerMoved:
                if attempt + 1 < attempts:
                    continue
                raise
        raise AssertionError("unreachable")

    def drop(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        *,
        actor: Actor = CLI,
        audit: AuditEntry | None = None,
    ) -> None:
        """To the warehouse's trash, or for good when its retention is 0."""
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_function(tx, found.id, namespace, name)
            discard_function(self._context, tx, found, record, actor=actor)
            if audit is not None:
                audit.write(tx)
