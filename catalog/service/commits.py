"""The commit path: validate, apply, write a new metadata file, then compare-and-swap.

A metadata file is written before the pointer moves and never overwritten; if the swap loses,
the file is an orphan (deleted here, best effort) and the table is exactly as it was. When the
swap loses only because an unrelated commit landed first, the requirements are checked again
against the new state and the commit is retried on the server, as the Java reference does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError

from catalog.events.types import ChangeEvent, EventType, object_event
from catalog.exceptions import (
    AlreadyExists,
    CommitFailed,
    CommitStateUnknown,
    NoSuchTable,
    PointerMoved,
    StorageUnavailable,
)
from catalog.observability import metrics, tracing
from catalog.protocol import CommitTableRequest
from catalog.service.approval import Approver, Proposal, proposal
from catalog.service.audit import AuditEntry
from catalog.service.containment import NewSnapshots, check_commit_paths, check_snapshot_files
from catalog.service.context import ServiceContext, finalize, found_warehouse
from catalog.service.identifiers import dotted
from catalog.service.locations import (
    check_no_overlap,
    check_table_paths,
    metadata_version,
    table_metadata_file,
)
from catalog.service.namespaces import found_namespace
from catalog.service.placement import Placer, check_object_placement
from catalog.service.ports import AuditLog, CatalogTransaction
from catalog.service.protection import check_property_updates
from catalog.service.rendering import commit_result
from catalog.service.stored_documents import StoredDocuments
from catalog.service.table_metadata import (
    apply_document_commit,
    apply_table_updates,
    check_requirements,
    is_create,
    parse_stored_metadata,
)
from catalog.store.records import (
    IdempotencyTicket,
    NamespaceRecord,
    ObjectRecord,
    PointerSwap,
    WarehouseRecord,
)
from storage.io import ObjectStore

log = logging.getLogger("icefloe.commits")


@dataclass(frozen=True)
class TableChange:
    namespace: tuple[str, ...]
    name: str
    request: CommitTableRequest


@dataclass(frozen=True)
class PreparedCommit:
    change: TableChange
    namespace: NamespaceRecord
    current: ObjectRecord | None
    metadata_location: str
    metadata_json: str
    wrote_file: bool
    location: str
    new_snapshots: NewSnapshots | None = None
    #: Set when only these parts of the document are new (`PointerSwap.new_parts`).
    new_parts: dict[str, Any] | None = None
    #: What `metadata_json` decodes to, kept for the next commit once this one has landed.
    document: dict[str, Any] | None = None
    #: `metadata_json` as UTF-8, when the commit serialized the document itself (orjson's own
    #: output): the metadata file and the response are written from it, so a commit does not
    #: encode the whole document twice more (~55 µs each at 1,000 snapshots).
    metadata_bytes: bytes | None = None

    @property
    def encoded(self) -> bytes:
        """`metadata_json` as UTF-8: the bytes of the metadata file and of the response."""
        if self.metadata_bytes is not None:
            return self.metadata_bytes
        return self.metadata_json.encode("utf-8")

    @property
    def response(self) -> bytes:
        return commit_result(self.metadata_location, self.encoded)

    def swap(self, warehouse: str, current: ObjectRecord) -> PointerSwap:
        """The compare-and-swap that moves `current` (this commit's table) to the new file."""
        return PointerSwap(
            current.id,
            current.version,
            self.metadata_location,
            self.metadata_json,
            self.location,
            self.new_parts,
            event=self.event(warehouse, current.id),
        )

    @property
    def places_table(self) -> bool:
        """The table is created or moved: its location is checked against where the caller
        may place it and against every other table's. A table that stays where it is passed
        both when it got there (each table created or moved since was checked against it)."""
        return self.current is None or moved(self.current, self.location)

    def event(self, warehouse: str, object_id: str) -> ChangeEvent:
        """The change event of this commit: the snapshots it added, with their summaries."""
        document = self.document or {}
        added = self.new_snapshots.snapshots if self.new_snapshots else ()
        data: dict[str, Any] = {
            "table-uuid": document.get("table-uuid"),
            "metadata-location": self.metadata_location,
            "previous-metadata-location": self.current.metadata_location if self.current else None,
            "current-snapshot-id": document.get("current-snapshot-id"),
            "snapshots": [
                {
                    key: snapshot[key]
                    for key in (
                        "snapshot-id",
                        "parent-snapshot-id",
                        "sequence-number",
                        "timestamp-ms",
                        "summary",
                    )
                    if key in snapshot
                }
                for snapshot in added
            ],
        }
        kind = EventType.TABLE_COMMITTED if self.current else EventType.TABLE_CREATED
        change = self.change
        return object_event(kind, warehouse, object_id, change.namespace, change.name, data)


@dataclass(frozen=True)
class Found:
    """A change's namespace (None: none of that name) and the table or view now at its name."""

    namespace: NamespaceRecord | None
    current: ObjectRecord | None

    @classmethod
    def read(cls, tx: CatalogTransaction, warehouse_id: str, change: TableChange) -> Found:
        namespace = tx.namespace(warehouse_id, change.namespace)
        if namespace is None:
            return cls(None, None)
        return cls(namespace, tx.object(warehouse_id, change.namespace, change.name))


def moved(current: ObjectRecord, location: str) -> bool:
    return location.rstrip("/") != current.location.rstrip("/")


def write_metadata_file(store: ObjectStore, location: str, text: str | bytes) -> None:
    """Write a new metadata file: `text` as given, or as UTF-8 when it is a `str`."""
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    try:
        with tracing.span("metadata.write"):
            store.write_new(location, data)
    except Exception as error:
        log.warning("event=metadata_write_failed location=%s error=%s", location, error)
        raise StorageUnavailable(
            f"Could not write table metadata to storage; nothing was committed: {error}"
        ) from error


class Committer:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._documents = StoredDocuments()
        self._approver = Approver(context)

    def _read(
        self, warehouse_name: str, changes: Sequence[TableChange]
    ) -> tuple[WarehouseRecord, list[Found]]:
        """The warehouse, and each change's namespace and current table, as of one snapshot.
        A commit to one table (an append) reads them in one statement, outside any unit of
        work (`CatalogStore.commit_target`)."""
        store = self._context.store
        if len(changes) == 1:
            change = changes[0]
            target = store.commit_target(warehouse_name, change.namespace, change.name)
            warehouse = found_warehouse(target.warehouse if target else None, warehouse_name)
            assert target is not None
            return warehouse, [Found(target.namespace, target.current)]
        with store.read() as tx:
            warehouse = self._context.warehouse(tx, warehouse_name)
            return warehouse, [Found.read(tx, warehouse.id, change) for change in changes]

    def _prepare(
        self,
        warehouse: WarehouseRecord,
        change: TableChange,
        placer: Placer,
        found: Found,
    ) -> PreparedCommit:
        check_property_updates(placer, change.request.updates)
        namespace = found_namespace(found.namespace, change.namespace)
        current = found.current
        identifier = dotted((*change.namespace, change.name))
        if current is not None and current.kind != "table":
            if is_create(change.request.requirements):
                raise AlreadyExists(f"View with same name already exists: {identifier}")
            raise NoSuchTable(f"Table does not exist: {identifier}")
        requirements = change.request.requirements
        if current is None and not is_create(requirements):
            raise NoSuchTable(f"Table does not exist: {identifier}")
        base_document = self._documents.get(current) if current else None
        fast = (
            apply_document_commit(
                base_document, requirements, change.request.updates, current.metadata_location
            )
            if current is not None and base_document is not None
            else None
        )
        new_parts: dict[str, Any] | None = None
        if fast is not None:
            document, changed = fast.document, fast.changed
            if changed:
                new_parts = fast.added_parts()
        else:
            base = parse_stored_metadata(current.metadata_json) if current else None
            check_requirements(requirements, base)
            _, document, changed = apply_table_updates(
                base,
                current.metadata_json if current else None,
                change.request.updates,
                current.metadata_location if current else None,
            )
        location: str = document["location"]
        if current is not None and not changed:
            return PreparedCommit(
                change,
                namespace,
                current,
                current.metadata_location,
                current.metadata_json,
                False,
                location,
            )
        properties: dict[str, str] = document.get("properties") or {}
        check_table_paths(location, properties, warehouse.location)
        if current is None or moved(current, location):
            check_object_placement(placer, warehouse, namespace, location)
        new_snapshots = check_commit_paths(base_document, document)
        version = metadata_version(current.metadata_location) + 1 if current else 0
        metadata_location = table_metadata_file(location, dict(properties), version)
        encoded = orjson.dumps(document)
        return PreparedCommit(
            change,
            namespace,
            current,
            metadata_location,
            encoded.decode("utf-8"),
            True,
            location,
            new_snapshots,
            new_parts,
            document,
            encoded,
        )

    def _discard(self, store: ObjectStore, prepared: Sequence[PreparedCommit]) -> None:
        for commit in prepared:
            if commit.wrote_file:
                try:
                    store.delete(commit.metadata_location)
                except Exception as error:  # an orphan is harmless; maintenance removes it
                    log.warning(
                        "event=orphan_left location=%s error=%s", commit.metadata_location, error
                    )

    def commit(
        self,
        warehouse_name: str,
        changes: Sequence[TableChange],
        ticket: IdempotencyTicket | None,
        *,
        respond_with_first: bool,
        placer: Placer,
        audit: AuditEntry | None = None,
    ) -> bytes:
        """Commit every change or none; the response is the first table's, or empty. A change
        that creates or moves a table places it where `placer` may (`service.placement`).
        `audit` is written in the swap's transaction: only when the commit lands."""
        with tracing.span("commit"):
            try:
                body = self._commit(
                    warehouse_name, changes, ticket, respond_with_first, placer, audit
                )
            except BaseException as error:
                metrics.COMMITS.labels(metrics.commit_outcome(error)).inc()
                raise
            metrics.COMMITS.labels("landed").inc()
            return body

    def _commit(
        self,
        warehouse_name: str,
        changes: Sequence[TableChange],
        ticket: IdempotencyTicket | None,
        respond_with_first: bool,
        placer: Placer,
        audit: AuditEntry | None,
    ) -> bytes:
        attempts = self._context.limits.commit_retries + 1
        read_snapshots: set[tuple[int, str]] = set()  # a retry does not read them again
        approved: set[bytes] = set()
        for attempt in range(attempts):
            with tracing.span("commit.prepare"):
                warehouse, found = self._read(warehouse_name, changes)
                prepared = [
                    self._prepare(warehouse, change, placer, each)
                    for change, each in zip(changes, found, strict=True)
                ]
            if warehouse.approval is not None:  # outside the transaction: it may wait
                self._approve(warehouse, prepared, placer, approved)
            store = self._context.storage.for_warehouse(warehouse)
            for commit in prepared:  # file I/O, so outside any transaction
                if commit.new_snapshots is not None:
                    check_snapshot_files(store, commit.new_snapshots, read_snapshots)
            written: list[PreparedCommit] = []
            try:
                for commit in prepared:
                    if commit.wrote_file:
                        write_metadata_file(store, commit.metadata_location, commit.encoded)
                        written.append(commit)
                body = prepared[0].response if respond_with_first else b""
                self._swap(warehouse.name, prepared, ticket, body, audit)
                for commit in prepared:
                    if commit.wrote_file and commit.current and commit.document is not None:
                        self._documents.put(
                            commit.current.id, commit.metadata_json, commit.document
                        )
                return body
            except PointerMoved:
                self._discard(store, written)
                if attempt + 1 == attempts:
                    raise
                log.info("event=commit_retry attempt=%d tables=%d", attempt + 1, len(changes))
                metrics.COMMIT_RETRIES.inc()
            except CommitFailed:
                self._discard(store, written)
                raise
            except CommitStateUnknown:
                raise
            except BaseException:
                self._discard(store, written)
                raise
        raise AssertionError("unreachable")

    def _alone(
        self,
        warehouse: str,
        prepared: Sequence[PreparedCommit],
        ticket: IdempotencyTicket | None,
    ) -> AbstractContextManager[AuditLog] | None:
        """The swap's transaction when the commit moves one table's pointer and nothing else
        (an append): the store runs it alone (`CatalogStore.swap_alone`), without a unit of
        work. None otherwise: a create, a move (checked against every other table in the
        transaction), several tables, an Idempotency-Key's stored response."""
        if len(prepared) != 1 or ticket is not None:
            return None
        commit = prepared[0]
        if commit.current is None or not commit.wrote_file or commit.places_table:
            return None
        return self._context.store.swap_alone(commit.swap(warehouse, commit.current))

    def _approve(
        self,
        warehouse: WarehouseRecord,
        prepared: Sequence[PreparedCommit],
        placer: Placer,
        approved: set[bytes],
    ) -> None:
        settings = self._approver.settings(warehouse)
        if settings is None:
            return  # nothing to ask: no proposal to build
        proposals: list[Proposal] = []
        for commit in prepared:
            if not commit.wrote_file or commit.document is None:
                continue  # nothing changes: nothing to approve
            request = commit.change.request
            proposals.append(
                proposal(
                    commit.change.namespace,
                    commit.change.name,
                    [r.model_dump(mode="json", by_alias=True) for r in request.requirements],
                    [u.model_dump(mode="json", by_alias=True) for u in request.updates],
                    self._documents.get(commit.current) if commit.current else None,
                    commit.document,
                )
            )
        if proposals:
            self._approver.check(warehouse, settings, placer, proposals, approved)

    def _swap(
        self,
        warehouse: str,
        prepared: Sequence[PreparedCommit],
        ticket: IdempotencyTicket | None,
        body: bytes,
        audit: AuditEntry | None,
    ) -> None:
        alone = self._alone(warehouse, prepared, ticket)
        try:
            if alone is not None:
                with tracing.span("store.swap"), alone as written:
                    if audit is not None:
                        audit.write(written)
                return
            with tracing.span("store.swap"), self._context.store.write() as tx:
                swaps = []
                for commit in prepared:
                    if commit.wrote_file and commit.places_table:
                        own_id = commit.current.id if commit.current else None
                        warehouse_id = commit.namespace.warehouse_id
                        check_no_overlap(tx, warehouse_id, commit.location, own_id)
                    if commit.current is None:
                        created = tx.insert_object(
                            commit.namespace,
                            commit.change.name,
                            "table",
                            commit.metadata_location,
                            commit.metadata_json,
                            commit.location,
                        )
                        tx.emit(commit.event(warehouse, created.id))
                    elif commit.wrote_file:
                        swaps.append(commit.swap(warehouse, commit.current))
                tx.swap(swaps)
                if audit is not None:
                    audit.write(tx)
                finalize(tx, ticket, body)
        except AlreadyExists as error:
            raise CommitFailed(f"Requirement failed: {error.message}") from error
        except SQLAlchemyError as error:
            # Whether the transaction committed before the connection failed is unknown.
            raise CommitStateUnknown(f"Commit state unknown: {type(error).__name__}") from error
