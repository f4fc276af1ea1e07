"""Plain records the store hands to the service: no SQLAlchemy beyond this package's edge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from catalog.events.types import ChangeEvent

ObjectKind = Literal["table", "view"]
TrashKind = Literal["table", "view", "function"]


@dataclass(frozen=True)
class WarehouseRecord:
    id: str
    name: str
    location: str
    storage: dict[str, Any]
    properties: dict[str, str]
    created_at: datetime
    #: Commit approval settings (`catalog.service.approval`), its secret sealed; None: off.
    approval: dict[str, Any] | None = None


@dataclass(frozen=True)
class NamespaceRecord:
    id: str
    warehouse_id: str
    levels: tuple[str, ...]
    properties: dict[str, str]


@dataclass(frozen=True)
class CommitTarget:
    """What a commit to one table reads first, in one statement: its warehouse, its namespace
    (None: there is none of that name) and the table or view now there (None: none)."""

    warehouse: WarehouseRecord
    namespace: NamespaceRecord | None
    current: ObjectRecord | None


@dataclass(frozen=True)
class FunctionRecord:
    """A function: its metadata as stored, and the version a replace's swap checks."""

    id: str
    warehouse_id: str
    namespace: tuple[str, ...]
    name: str
    metadata_json: str
    version: int


@dataclass(frozen=True)
class ObjectRecord:
    """A table or a view: where its current metadata lives, and the version the CAS checks."""

    id: str
    warehouse_id: str
    namespace: tuple[str, ...]
    name: str
    kind: ObjectKind
    metadata_location: str
    metadata_json: str
    version: int
    location: str  # the table's or view's own location (no trailing slash)


@dataclass(frozen=True)
class PointerSwap:
    """One compare-and-swap: move `object_id` from `expected_version` to a new metadata file."""

    object_id: str
    expected_version: int
    metadata_location: str
    metadata_json: str
    location: str
    #: When given, the producer vouches that everything else in `metadata_json` is exactly the
    #: stored document at `expected_version` (which passed the store's integer guard when it
    #: was stored): the guard then checks these parts only, not the whole history again.
    new_parts: Mapping[str, Any] | None = None
    #: What moves: the search index reads a view's schema from its current version.
    kind: ObjectKind = "table"
    #: The change event of this swap: written with it (in the same statement on PostgreSQL).
    event: ChangeEvent | None = None


@dataclass(frozen=True)
class IdempotencyTicket:
    """A client's Idempotency-Key, with what identifies the request it was sent with."""

    key: str
    fingerprint: str
    status_code: int


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status_code: int
    body: bytes
    created_at: datetime


@dataclass(frozen=True)
class Page:
    """A slice of a listing, ordered by name; `next_after` resumes after its last item."""

    names: list[str]
    next_after: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    secret_hash: str
    permission: str
    warehouses: tuple[str, ...] | None
    namespaces: tuple[tuple[str, ...], ...] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    generation: int


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    principal: str
    operation: str
    target: str
    request_id: str
    status: int


@dataclass(frozen=True)
class MaintenancePolicyRecord:
    """Stored maintenance settings of a warehouse (`object_id` None) or of one table."""

    warehouse_id: str
    object_id: str | None
    settings: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class LeaseRecord:
    key: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class MaintenanceRunRecord:
    """One maintenance run of one table: what ran, when, and with what figures."""

    id: int
    warehouse: str
    namespace: tuple[str, ...]
    table: str
    kind: str
    trigger: str
    dry_run: bool
    runner: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    error: str | None
    files_before: int
    files_after: int
    bytes_rewritten: int
    files_deleted: int
    snapshots_expired: int
    details: dict[str, Any]


@dataclass(frozen=True)
class TrashRecord:
    """A dropped table, view or function in its warehouse's trash (`id` is the object's own
    id); a function has no metadata location and no location."""

    id: str
    warehouse_id: str
    namespace: tuple[str, ...]
    name: str
    kind: TrashKind
    metadata_location: str | None
    metadata_json: str
    location: str | None
    version: int
    created_at: datetime
    #: Properties of each namespace level above the object when it was dropped, by its
    #: levels joined with 0x1F: an undrop re-creates the levels a recursive drop removed.
    namespaces: dict[str, dict[str, str]]
    purge_requested: bool
    dropped_by: str
    dropped_at: datetime
    expires_at: datetime
    purge_started_at: datetime | None


@dataclass(frozen=True)
class SearchHit:
    """One entry found by search; a namespace's `namespace` is its parent's levels."""

    entity_id: str
    warehouse: str
    kind: str
    namespace: tuple[str, ...]
    name: str
    columns: str
    properties: str
