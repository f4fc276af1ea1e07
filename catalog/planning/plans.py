"""The four planning operations, as the service answers them.

A plan id and each plan task are signed tokens (`catalog.planning.tokens`), so no plan state
lives between requests and every worker of a deployment answers every token: a plan task names
a range of the snapshot's pruned data manifests, and fetching it plans that range again from
the manifest cache. Each request holds at most one page of manifests' entries; that is the
planner's memory bound. Small scans (at most `submit_manifests` data manifests after pruning)
answer `completed` at once: their files inline when they fit one page, else as plan tasks.
Larger scans answer `submitted`; fetchPlanningResult then hands out their plan tasks.

Cancelling records the plan's digest until its tokens expire, in the database (table
`cancelled_plans`) so that every worker sees it, and in this process's set (a first-level
cache that also stops a page being planned here between manifests): later fetches of the plan
or its tasks are 404 on every worker. The database check is one read by primary key in the
transaction that loads the table anyway.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from pyiceberg.catalog.rest.scan_planning import PlanTableScanRequest
from pyiceberg.manifest import DataFile, ManifestFile
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot, ancestors_of

from catalog.exceptions import BadRequest, NoSuchPlanId, NoSuchPlanTask, NotFound
from catalog.maintenance.table_io import ConfinedFileIO
from catalog.observability import metrics
from catalog.planning.cache import ManifestCache
from catalog.planning.expressions import check_bindable, filter_document, parse_filter
from catalog.planning.render import RenderedFiles
from catalog.planning.scan import Cancelled, PlannedFile, ScanPlanner
from catalog.planning.tokens import InvalidToken, TokenSigner, digest
from catalog.service.context import ServiceContext
from catalog.service.table_metadata import parse_table_metadata
from catalog.service.table_storage import TableStorage
from catalog.service.tables import Delegation, TableService, require_object
from catalog.store.records import WarehouseRecord


@dataclass(frozen=True)
class PlanningLimits:
    submit_manifests: int = 64  # more data manifests than this: `submitted`
    task_manifests: int = 16  # data manifests per plan task (one page)
    read_threads: int = 4  # the process's pool reading a page's manifests in parallel


@dataclass
class _Table:
    warehouse: WarehouseRecord
    namespace: tuple[str, ...]
    name: str
    metadata: TableMetadata
    io: ConfinedFileIO
    cancelled: bool = False  # the plan asked about is cancelled (as the database says)


class Planner:
    def __init__(
        self,
        context: ServiceContext,
        tables: TableService,
        cache: ManifestCache,
        signer: TokenSigner,
        limits: PlanningLimits,
    ) -> None:
        self._context = context
        self._tables = tables
        self.cache = cache
        self._signer = signer
        self._limits = limits
        self._lock = threading.Lock()
        self._cancelled: dict[str, int] = {}  # plan digest -> expiry (epoch seconds)
        self.pages_active: dict[str, int] = {}  # plan digest -> pages being planned now
        # one pool for every request of the process: concurrent plans share its threads
        self._readers = ThreadPoolExecutor(limits.read_threads, "icefloe-planning")

    # operations ---------------------------------------------------------------------------
    def plan_table_scan(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        body: Any,
        delegation: Delegation,
    ) -> bytes:
        request = _parse_request(body)
        table = self._load(warehouse, namespace, name)
        expires = self._signer.expiry()  # the plan's tasks expire with it
        scan = {**self._describe(table.metadata, request), "exp": expires}
        # the nonce: two identical scans are two plans (cancelling one leaves the other)
        plan_id = self._signer.sign({**scan, "k": "plan", "n": secrets.token_hex(8)}, expires)
        planner, snapshot, added_by = self._planner(table, scan)
        if snapshot is None:
            return orjson.dumps({"status": "completed", "plan-id": plan_id})
        count = len(planner.data_manifests(snapshot, added_by))
        if count > self._limits.submit_manifests:
            return orjson.dumps({"status": "submitted", "plan-id": plan_id})
        return self._completed(table, scan, plan_id, planner, snapshot, added_by, delegation)

    def fetch_planning_result(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        plan_id: str,
        delegation: Delegation,
    ) -> bytes:
        scan, table = self._verified(plan_id, "plan", NoSuchPlanId, warehouse, namespace, name)
        planner, snapshot, added_by = self._planner(table, scan)
        if snapshot is None:
            return orjson.dumps({"status": "completed", "plan-id": plan_id})
        return self._completed(table, scan, plan_id, planner, snapshot, added_by, delegation)

    def cancel(self, warehouse: str, namespace: Sequence[str], name: str, plan_id: str) -> None:
        scan, _ = self._verified(plan_id, "plan", NoSuchPlanId, warehouse, namespace, name)
        plan, expires = digest(plan_id), int(scan["exp"])
        with self._context.store.write() as tx:
            tx.cancel_plan(plan, datetime.fromtimestamp(expires, UTC), datetime.now(UTC))
        self._remember(plan, expires)

    def fetch_scan_tasks(
        self, warehouse: str, namespace: Sequence[str], name: str, body: Any
    ) -> bytes:
        task = body.get("plan-task") if isinstance(body, dict) else None
        if not isinstance(task, str):
            raise BadRequest("Invalid request: plan-task: a string is required")
        scan, table = self._verified(task, "task", NoSuchPlanTask, warehouse, namespace, name)
        plan = str(scan["p"])
        planner, snapshot, added_by = self._planner(table, scan)
        if snapshot is None:
            raise NoSuchPlanTask(f"Plan task not found: {digest(task)}")
        low, high = scan["r"]
        manifests = planner.data_manifests(snapshot, added_by)[low:high]
        with self._lock:
            self.pages_active[plan] = self.pages_active.get(plan, 0) + 1
        metrics.PLANNING_PAGES_ACTIVE.inc()
        try:
            planned = self._plan_page(planner, snapshot, manifests, added_by, plan)
        except Cancelled as error:
            raise NoSuchPlanTask(f"Plan task not found: {digest(task)}") from error
        finally:
            metrics.PLANNING_PAGES_ACTIVE.dec()
            with self._lock:
                left = self.pages_active[plan] - 1
                if left:
                    self.pages_active[plan] = left
                else:
                    del self.pages_active[plan]
        return orjson.dumps(_scan_tasks(planned, table.metadata, scan, self.cache))

    # helpers ------------------------------------------------------------------------------
    def is_cancelled(self, plan: str) -> bool:
        with self._lock:
            return plan in self._cancelled

    def _remember(self, plan: str, expires: int) -> None:
        with self._lock:
            now = int(time.time())
            self._cancelled = {k: v for k, v in self._cancelled.items() if v >= now}
            self._cancelled[plan] = expires

    def _completed(
        self,
        table: _Table,
        scan: dict[str, Any],
        plan_id: str,
        planner: ScanPlanner,
        snapshot: Snapshot,
        added_by: frozenset[int] | None,
        delegation: Delegation,
    ) -> bytes:
        manifests = planner.data_manifests(snapshot, added_by)
        plan = digest(plan_id)
        document: dict[str, Any] = {"status": "completed", "plan-id": plan_id}
        page = self._limits.task_manifests
        if len(manifests) <= page:
            planned = self._plan_page(planner, snapshot, manifests, added_by, plan)
            document.update(_scan_tasks(planned, table.metadata, scan, self.cache))
        else:
            deletes = [] if added_by is not None else planner.delete_manifests(snapshot)
            planner.read_ahead([*manifests, *deletes], lambda: self.is_cancelled(plan))
            expires = int(scan["exp"])
            document["plan-tasks"] = [
                self._signer.sign(
                    {
                        **_without(scan, "k", "exp", "n"),
                        "k": "task",
                        "p": plan,
                        "r": [low, low + page],
                    },
                    expires,
                )
                for low in range(0, len(manifests), page)
            ]
        credentials = self._tables.table_config(
            table.warehouse, table.metadata.location, delegation, (table.namespace, table.name)
        ).storage_credentials
        if credentials:
            document["storage-credentials"] = credentials
        return orjson.dumps(document)

    def _plan_page(
        self,
        planner: ScanPlanner,
        snapshot: Snapshot,
        manifests: list[ManifestFile],
        added_by: frozenset[int] | None,
        plan: str,
    ) -> list[PlannedFile]:
        deletes = [] if added_by is not None else planner.delete_manifests(snapshot)
        return planner.plan(manifests, deletes, added_by, lambda: self.is_cancelled(plan))

    def _load(
        self, warehouse: str, namespace: Sequence[str], name: str, plan: str | None = None
    ) -> _Table:
        """The table; with `plan`, also whether another worker cancelled that plan (one read
        by primary key in the same transaction)."""
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_object(tx, found.id, namespace, name, "table")
            cancelled = plan is not None and tx.plan_cancelled(plan)
        metadata = parse_table_metadata(record.metadata_json)
        io = ConfinedFileIO(TableStorage(self._context, found, metadata.location))
        return _Table(found, tuple(namespace), name, metadata, io, cancelled)

    def _verified(
        self,
        token: str,
        kind: str,
        missing: type[NotFound],
        warehouse: str,
        namespace: Sequence[str],
        name: str,
    ) -> tuple[dict[str, Any], _Table]:
        """The token's scan and its table, or `missing` (404) when the token is not genuine,
        not of this kind or table, or its plan was cancelled here or by any other worker."""
        try:
            scan = self._signer.verify(token)
        except InvalidToken:
            scan = {}
        plan = digest(token) if kind == "plan" else str(scan.get("p"))
        known = scan.get("k") == kind and not self.is_cancelled(plan)
        table = self._load(warehouse, namespace, name, plan if known else None)
        if not known or table.cancelled or scan.get("t") != str(table.metadata.table_uuid):
            if table.cancelled:
                self._remember(plan, int(scan["exp"]))
            raise missing(f"{_NOUN[kind]} not found: {digest(token)}")
        return scan, table

    def _describe(self, metadata: TableMetadata, request: PlanTableScanRequest) -> dict[str, Any]:
        """What the tokens carry: the scan, checked against the table."""
        scan: dict[str, Any] = {"t": str(metadata.table_uuid), "c": request.case_sensitive}
        if request.start_snapshot_id is not None or request.end_snapshot_id is not None:
            if request.end_snapshot_id is None:
                raise BadRequest("end-snapshot-id is required with start-snapshot-id")
            _added_between(metadata, request.start_snapshot_id, request.end_snapshot_id)
            scan.update(a=request.start_snapshot_id, e=request.end_snapshot_id)
            schema = metadata.schema()
        else:
            snapshot_id = request.snapshot_id
            if snapshot_id is None and metadata.current_snapshot_id is not None:
                snapshot_id = metadata.current_snapshot_id
            if snapshot_id is not None and metadata.snapshot_by_id(snapshot_id) is None:
                raise BadRequest(f"Snapshot not found: {snapshot_id}")
            scan["s"] = snapshot_id
            schema = metadata.schema()
            if request.use_snapshot_schema and snapshot_id is not None:
                scan["u"] = True
                schema = _snapshot_schema(metadata, snapshot_id)
        row_filter = request.filter if request.filter is not None else parse_filter(None)
        check_bindable(row_filter, schema, request.case_sensitive)
        scan["f"] = filter_document(row_filter)
        try:
            if request.select:
                schema.select(*request.select, case_sensitive=request.case_sensitive)
            scan["sf"] = [
                _field_id(schema, field, request.case_sensitive)
                for field in request.stats_fields or []
            ]
        except ValueError as error:
            raise BadRequest(f"Unknown column: {error}") from error
        return scan

    def _planner(
        self, table: _Table, scan: dict[str, Any]
    ) -> tuple[ScanPlanner, Snapshot | None, frozenset[int] | None]:
        metadata = table.metadata
        if scan.get("u") and scan.get("s") is not None:
            schema = _scan_schema(metadata, scan)
            metadata = metadata.model_copy(update={"current_schema_id": schema.schema_id})
        planner = ScanPlanner(
            metadata,
            table.io,
            self.cache,
            parse_filter(scan["f"]),
            bool(scan["c"]),
            self._readers,
        )
        if "e" in scan:
            added_by = _added_between(metadata, scan.get("a"), int(scan["e"]))
            return planner, metadata.snapshot_by_id(int(scan["e"])), added_by
        snapshot_id = scan.get("s")
        snapshot = None if snapshot_id is None else metadata.snapshot_by_id(int(snapshot_id))
        return planner, snapshot, None


_NOUN = {"plan": "Plan id", "task": "Plan task"}


def _parse_request(body: Any) -> PlanTableScanRequest:
    try:
        return PlanTableScanRequest.model_validate(body if body is not None else {})
    except (ValidationError, ValueError, TypeError) as error:
        first = str(error).splitlines()
        raise BadRequest(f"Invalid scan request: {' '.join(first[:3])}") from error


def _scan_schema(metadata: TableMetadata, scan: dict[str, Any]) -> Schema:
    """The scan's schema: the snapshot's with `use-snapshot-schema`, else the table's."""
    if scan.get("u") and scan.get("s") is not None:
        return _snapshot_schema(metadata, int(scan["s"]))
    return metadata.schema()


def _snapshot_schema(metadata: TableMetadata, snapshot_id: int) -> Schema:
    snapshot = metadata.snapshot_by_id(snapshot_id)
    if snapshot is not None and snapshot.schema_id is not None:
        for schema in metadata.schemas:
            if schema.schema_id == snapshot.schema_id:
                return schema
    return metadata.schema()


def _added_between(metadata: TableMetadata, start: int | None, end: int) -> frozenset[int]:
    """The append snapshots after `start` up to `end`; `start` must be an ancestor of `end`."""
    end_snapshot = metadata.snapshot_by_id(end)
    if end_snapshot is None:
        raise BadRequest(f"Snapshot not found: {end}")
    if start is not None and metadata.snapshot_by_id(start) is None:
        raise BadRequest(f"Snapshot not found: {start}")
    found: set[int] = set()
    for snapshot in ancestors_of(end_snapshot, metadata):
        if snapshot.snapshot_id == start:
            break
        operation = snapshot.summary.operation.value if snapshot.summary else "append"
        if operation == "append":
            found.add(snapshot.snapshot_id)
    else:
        if start is not None:
            raise BadRequest(f"Snapshot {start} is not an ancestor of {end}")
    return frozenset(found)


def _field_id(schema: Schema, name: str, case_sensitive: bool) -> int:
    return schema.find_field(name, case_sensitive).field_id


def _without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in keys}


def _scan_tasks(
    planned: list[PlannedFile], metadata: TableMetadata, scan: dict[str, Any], cache: ManifestCache
) -> dict[str, Any]:
    """ScanTasks: each delete file once, referenced by index from the tasks that need it."""
    specs = metadata.specs()
    # The schema `stats-fields` were resolved against when the plan was made (_describe).
    schema = _scan_schema(metadata, scan)
    stats = [int(i) for i in scan.get("sf", [])]
    files = RenderedFiles(cache, specs, schema, stats)
    delete_files: list[orjson.Fragment] = []
    index: dict[tuple[str, int | None], int] = {}
    tasks: list[dict[str, Any]] = []

    def reference(file: DataFile) -> int:
        # deletion vectors share one Puffin file: its blob's offset tells them apart
        key = (file.file_path, getattr(file, "content_offset", None))
        if key not in index:
            index[key] = len(delete_files)
            delete_files.append(files.delete_file(file))
        return index[key]

    for item in planned:
        task: dict[str, Any] = {
            "data-file": files.data_file(item.data_file, item.manifest, item.position)
        }
        references = sorted(reference(file) for file in item.deletes)
        if references:
            task["delete-file-references"] = references
        tasks.append(task)
    document: dict[str, Any] = {"file-scan-tasks": tasks}
    if delete_files:
        document["delete-files"] = delete_files
    return document
