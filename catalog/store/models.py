"""SQLAlchemy mappings. The schema itself is owned by the Alembic migrations beside this file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, dict[str, str]: JSON}


class Warehouse(Base):
    __tablename__ = "warehouses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    location: Mapped[str] = mapped_column(Text)
    storage: Mapped[dict[str, Any]] = mapped_column(JSON)
    properties: Mapped[dict[str, str]] = mapped_column(JSON)
    #: Commit approval (`catalog.service.approval`): read with the warehouse a commit reads
    #: anyway, so a warehouse without it costs its commits nothing more. Its secret is sealed.
    approval: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Namespace(Base):
    """A namespace; `name` is its levels joined by 0x1F, `parent` the same for all but the last."""

    __tablename__ = "namespaces"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "name", name="uq_namespaces_warehouse_name"),
        Index("ix_namespaces_children", "warehouse_id", "parent", "name"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    parent: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("namespaces.id", ondelete="RESTRICT"), index=True
    )
    properties: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CatalogObject(Base):
    """A table or a view. Both share one name space per namespace, as Iceberg requires."""

    __tablename__ = "catalog_objects"
    __table_args__ = (
        UniqueConstraint("namespace_id", "name", name="uq_catalog_objects_namespace_name"),
        Index("ix_catalog_objects_listing", "namespace_id", "kind", "name"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), index=True
    )
    namespace_id: Mapped[str] = mapped_column(ForeignKey("namespaces.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))
    metadata_location: Mapped[str] = mapped_column(Text)
    metadata_json: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(Text, index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CatalogFunction(Base):
    """A function (the spec's FunctionMetadata, kept whole in `metadata_json`): a name space of
    its own per namespace, apart from tables and views. `version` is what a replace's
    compare-and-swap checks, as for `CatalogObject`."""

    __tablename__ = "catalog_functions"
    __table_args__ = (
        UniqueConstraint("namespace_id", "name", name="uq_catalog_functions_namespace_name"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), index=True
    )
    namespace_id: Mapped[str] = mapped_column(ForeignKey("namespaces.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(255))
    metadata_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    key: Mapped[str] = mapped_column(String(36), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class MetricsReport(Base):
    __tablename__ = "metrics_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    warehouse_id: Mapped[str] = mapped_column(String(36), index=True)
    namespace: Mapped[str] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(String(255))
    report_type: Mapped[str] = mapped_column(String(32))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """An API token: the secret is stored only as a SHA-256 hash (secrets are 256-bit random).

    `generation` counts the secrets it has had: rotation adds one, and the access tokens minted
    from it carry the generation they were minted with, so rotation ends them.
    """

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    secret_hash: Mapped[str] = mapped_column(String(64))
    permission: Mapped[str] = mapped_column(String(16))
    warehouses: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    namespaces: Mapped[list[list[str]] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    generation: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


AUDIT_REQUEST_ID_LENGTH = 64


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    principal: Mapped[str] = mapped_column(String(255))
    operation: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(String(AUDIT_REQUEST_ID_LENGTH))
    status: Mapped[int] = mapped_column(Integer)


class MaintenancePolicyRow(Base):
    """Maintenance settings of a whole warehouse (`object_id` NULL, `id` = the warehouse's id)
    or of one table (`id` = `object_id` = the table's id, so a rename keeps its policy)."""

    __tablename__ = "maintenance_policies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(
        ForeignKey("warehouses.id", ondelete="CASCADE"), index=True
    )
    object_id: Mapped[str | None] = mapped_column(
        ForeignKey("catalog_objects.id", ondelete="CASCADE"), index=True, nullable=True
    )
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MaintenanceLease(Base):
    """Who may run maintenance on one table until when; taken with one conditional write."""

    __tablename__ = "maintenance_leases"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MaintenanceRun(Base):
    __tablename__ = "maintenance_runs"
    __table_args__ = (
        Index("ix_maintenance_runs_table", "warehouse", "namespace", "table_name", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    warehouse: Mapped[str] = mapped_column(String(128))
    namespace: Mapped[str] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    runner: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    files_before: Mapped[int] = mapped_column(BigInteger)
    files_after: Mapped[int] = mapped_column(BigInteger)
    bytes_rewritten: Mapped[int] = mapped_column(BigInteger)
    files_deleted: Mapped[int] = mapped_column(BigInteger)
    snapshots_expired: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class TrashedObject(Base):
    """A dropped table, view or function, kept until `expires_at` with everything needed to
    put it back: its row as it was (same id, pointer and version) and the properties of every
    namespace level above it, for an undrop after the namespace itself was dropped. A
    function has no metadata location and no location (both NULL).

    Apart from `catalog_objects`, so that the hot queries there never filter dropped rows."""

    __tablename__ = "trashed_objects"
    __table_args__ = (Index("ix_trashed_objects_name", "warehouse_id", "namespace", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    namespace: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))
    metadata_location: Mapped[str | None] = mapped_column(Text, nullable=True)
    metadata_json: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text, index=True, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    namespaces: Mapped[dict[str, Any]] = mapped_column(JSON)
    purge_requested: Mapped[bool] = mapped_column(Boolean)
    dropped_by: Mapped[str] = mapped_column(String(255))
    dropped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    purge_started_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class CancelledPlan(Base):
    """A cancelled scan plan (by its token's digest), until its tokens expire: every worker
    answers a plan's tokens, so every worker must see its cancellation."""

    __tablename__ = "cancelled_plans"

    plan: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SearchEntry(Base):
    """What search finds of one namespace, table or view (`catalog.store.search_index`).

    Written by the transaction that changes the object; the text index over it is the
    database's own (an FTS5 table kept by triggers on SQLite, a generated `tsvector` column
    with a GIN index on PostgreSQL), created by migration 0008 and not mapped here.
    """

    __tablename__ = "search_entries"
    __table_args__ = (Index("ix_search_entries_name", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_id: Mapped[str] = mapped_column(String(36), unique=True)
    warehouse_id: Mapped[str] = mapped_column(
        ForeignKey("warehouses.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(9))
    namespace: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    columns: Mapped[str] = mapped_column(Text)
    properties: Mapped[str] = mapped_column(Text)


class ChangeEventRow(Base):
    """The outbox: one CloudEvent per change, inserted in the change's own transaction.

    `id` is taken at insert time; `position` is stamped after commit by the one dispatcher
    (`catalog.store.outbox`), in id order of what is visible then, so a cursor over positions
    never skips an event whose transaction committed late."""

    __tablename__ = "change_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)


class EventDelivery(Base):
    """Where one event stands with one sink: pending (due at `next_attempt_at`), delivered,
    or dead (given up after the configured attempts; kept for the admin API)."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        Index("ix_event_deliveries_queue", "sink", "state", "position"),
        Index("ix_event_deliveries_stream", "sink", "stream", "position"),
    )

    sink: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[int] = mapped_column(
        ForeignKey("change_events.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(BigInteger)
    stream: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
