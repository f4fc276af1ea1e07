"""Tables: create (and stage), load, commit, drop (and purge), rename, register, unregister."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar
from urllib.parse import quote

import orjson
from pyiceberg.exceptions import ValidationError as IcebergValidationError
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC
from pyiceberg.table.metadata import new_table_metadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER

from catalog.events.types import EventType, object_event
from catalog.exceptions import (
    AlreadyExists,
    BadRequest,
    CatalogError,
    Forbidden,
    NoSuchTable,
    NoSuchView,
    NotFound,
    SecretsUnavailable,
    ValidationFailed,
)
from catalog.observability import metrics
from catalog.protocol import (
    CommitTableRequest,
    CreateTableRequest,
    RegisterTableRequest,
    RemoteSignRequest,
    ReportMetricsRequest,
)
from catalog.service.audit import CLI, Actor, AuditEntry
from catalog.service.commits import Committer, TableChange, write_metadata_file
from catalog.service.containment import check_registered_paths
from catalog.service.context import ServiceContext, finalize
from catalog.service.identifiers import NAMESPACE_SEPARATOR, check_new_name, dotted
from catalog.service.locations import (
    check_no_overlap,
    check_table_paths,
    default_object_location,
    require_within,
    table_metadata_file,
)
from catalog.service.namespaces import require_namespace
from catalog.service.paging import PageRequest, next_token
from catalog.service.placement import Placer, check_object_placement
from catalog.service.ports import CatalogTransaction
from catalog.service.protection import check_property_keys, refuse_if_protected
from catalog.service.rendering import (
    commit_result,
    dumps,
    load_result,
    only_referenced_snapshots,
)
from catalog.service.signing import (
    check_scope,
    located_object,
    parse_request,
    sign,
    signed_payload,
)
from catalog.service.table_metadata import (
    metadata_document,
    metadata_to_json,
    parse_table_metadata,
)
from catalog.service.table_storage import vend
from catalog.service.trash import discard, purge_files
from catalog.store.records import (
    IdempotencyTicket,
    ObjectKind,
    ObjectRecord,
    PointerSwap,
    WarehouseRecord,
)
from catalog.vending.base import Access, StorageCredential
from catalog.vending.registry import VendorRegistry
from storage.io import ObjectMissing, ObjectStore
from storage.locations import is_within

log = logging.getLogger("icefloe.tables")

SnapshotMode = Literal["all", "refs"]
Metadata = TypeVar("Metadata")
WAREHOUSE_CACHE_SECONDS = 1.0
# loadTable hands out a vended credential again while at least three quarters of its lifetime
# remain: a client always gets most of a lifetime, and the vendor (an STS call, for AWS) is
# asked once per table prefix and access level per quarter lifetime, not once per load.
VENDED_REUSE_FRACTION = 0.25
VENDED_CACHE_ENTRIES = 10_000


@dataclass(frozen=True)
class Delegation:
    """What a client asked for (X-Iceberg-Access-Delegation) and what it may do there."""

    vended_credentials: bool = False
    access: Access = "read"
    remote_signing: bool = False
    signer_uri: str = ""  # the catalog's base URL, as the client reached it


NO_DELEGATION = Delegation()


@dataclass(frozen=True)
class TableConfig:
    config: dict[str, str]
    storage_credentials: list[dict[str, object]]
    # When the credential in it may no longer be handed out again (VENDED_REUSE_FRACTION).
    reusable_until: datetime | None = None


@dataclass(frozen=True)
class LoadedTable:
    body: bytes
    etag: str


def require_object(
    tx: CatalogTransaction,
    warehouse_id: str,
    namespace: Sequence[str],
    name: str,
    kind: ObjectKind,
    *,
    check_namespace: bool = True,
) -> ObjectRecord:
    """The live table or view. Loads pass check_namespace=False: the spec's only 404 for
    loadTable/loadView is NoSuchTable/NoSuchView, and Java clients (Spark) try a metadata
    table (`ns.t.snapshots` is table `t`'s snapshots) only after NoSuchTable/NoSuchView."""
    if check_namespace:
        require_namespace(tx, warehouse_id, namespace)
    record = tx.object(warehouse_id, namespace, name)
    if record is None or record.kind != kind:
        if kind == "table":
            raise NoSuchTable(f"Table does not exist: {dotted((*namespace, name))}")
        raise NoSuchView(f"View does not exist: {dotted((*namespace, name))}")
    return record


def read_registered_metadata(
    store: ObjectStore, location: str, parse: Callable[[str], Metadata]
) -> Metadata:
    """The metadata file a register request names. Missing, not UTF-8 and not metadata are one
    answer, so that register tells nobody which keys exist where they may not read."""
    try:
        return parse(store.read(location).decode("utf-8"))
    except (ObjectMissing, UnicodeDecodeError, ValidationFailed) as error:
        log.info("event=register_refused reason=%s location=%s", type(error).__name__, location)
        raise BadRequest(
            f"Cannot register {location}: it does not exist or is not a valid metadata file"
        ) from error


@functools.lru_cache(maxsize=16_384)  # asked on every load; the answer never changes
def table_etag(metadata_location: str, mode: str) -> str:
    digest = hashlib.sha256(f"{metadata_location}|{mode}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def etag_matches(etag: str, if_none_match: str | None) -> bool:
    """`If-None-Match` names this ETag: the client's copy is current (a 304)."""
    return if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}


def object_page(namespace: Sequence[str], rows: list[str], page: PageRequest) -> bytes:
    """listTables' (and listViews') body from the rows read for `page` (one more than it
    shows)."""
    names, token = next_token(rows, page)
    return dumps(
        {
            "identifiers": [{"namespace": list(namespace), "name": n} for n in names],
            "next-page-token": token,
        }
    )


class TableService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._committer = Committer(context)
        self._warehouses: dict[str, tuple[float, WarehouseRecord]] = {}
        # (warehouse id, table location, access) -> (handed out until, credential)
        self._vended: OrderedDict[tuple[str, str, Access], tuple[datetime, StorageCredential]]
        self._vended = OrderedDict()
        self._vended_lock = threading.Lock()

    def table_config(
        self,
        warehouse: WarehouseRecord,
        table_location: str,
        delegation: Delegation,
        identifier: tuple[Sequence[str], str],
    ) -> TableConfig:
        """Vended credentials for exactly this table's location, or the remote signer's
        settings, when asked for and possible."""
        if delegation.remote_signing and not delegation.vended_credentials:
            signing = self._signing_config(warehouse, delegation)
            if signing:
                namespace = quote(NAMESPACE_SEPARATOR.join(identifier[0]), safe="")
                path = f"v1/{warehouse.name}/namespaces/{namespace}/tables/{identifier[1]}/sign"
                signing["s3.signer.endpoint"] = path
            return TableConfig(signing, [])
        if not delegation.vended_credentials:
            return TableConfig({}, [])
        reused = self._reused_or_vended(warehouse, table_location, delegation.access)
        if reused is None:
            return TableConfig({}, [])
        credential, until = reused
        return TableConfig(dict(credential.config), [credential.as_wire()], until)

    def config_is_local(
        self, warehouse: WarehouseRecord, table_location: str, delegation: Delegation
    ) -> bool:
        """True when `table_config` needs no vendor call (whose upstream may be a network
        away): no credentials asked for, a credential still reusable, or no vendor for this
        warehouse. Callers on an event loop ask this first, and take a worker thread when it
        is False."""
        if not delegation.vended_credentials:
            return True
        key = (warehouse.id, table_location, delegation.access)
        with self._vended_lock:
            cached = self._vended.get(key)
        if cached is not None and datetime.now(UTC) < cached[0]:
            return True
        profile = self._context.storage.profile(warehouse)
        return self._context.vendors.vendor(warehouse, profile) is None

    def _reused_or_vended(
        self, warehouse: WarehouseRecord, table_location: str, access: Access
    ) -> tuple[StorageCredential, datetime] | None:
        """A credential for the table's prefix at this access level, reused for a fraction of
        its lifetime (VENDED_REUSE_FRACTION), and until when. The key holds the access level,
        so a reader never gets a writer's credential, and the warehouse id, so a warehouse
        re-created under the same name never gets its predecessor's."""
        key = (warehouse.id, table_location, access)
        now = datetime.now(UTC)
        with self._vended_lock:
            cached = self._vended.get(key)
            if cached is not None and now < cached[0]:
                self._vended.move_to_end(key)
                return cached[1], cached[0]
        credential = self.vend(warehouse, table_location, access)
        if credential is None:
            return None
        metrics.VENDED_CREDENTIALS.labels(VendorRegistry.kind(warehouse)).inc()
        until = now + (credential.expires_at - now) * VENDED_REUSE_FRACTION
        with self._vended_lock:
            self._vended[key] = (until, credential)
            self._vended.move_to_end(key)
            while len(self._vended) > VENDED_CACHE_ENTRIES:
                self._vended.popitem(last=False)
        return credential, until

    def vend(
        self, warehouse: WarehouseRecord, table_location: str, access: Access
    ) -> StorageCredential | None:
        return vend(self._context, warehouse, table_location, access)

    def _signing_config(self, warehouse: WarehouseRecord, delegation: Delegation) -> dict[str, str]:
        profile = self._context.storage.profile(warehouse)
        if self._context.vendors.vendor(warehouse, profile) is None:
            return {}
        region = str(profile.get("region", "auto"))
        config = {
            "s3.remote-signing-enabled": "true",
            "s3.signer": "S3V4RestSigner",
            "s3.signer.uri": delegation.signer_uri,
            "client.region": region,
            "s3.region": region,
            "s3.path-style-access": "true" if profile.get("path-style-access", True) else "false",
            # PyIceberg signs remotely only through its fsspec FileIO.
            "py-io-impl": "pyiceberg.io.fsspec.FsspecFileIO",
        }
        if profile.get("endpoint"):
            config["s3.endpoint"] = str(profile["endpoint"])
        return config

    def sign_request(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        request: RemoteSignRequest,
        may_write: bool,
    ) -> bytes:
        try:
            body = self._sign_request(warehouse, namespace, name, request, may_write)
        except CatalogError:
            metrics.SIGNING_REQUESTS.labels("refused").inc()
            raise
        metrics.SIGNING_REQUESTS.labels("signed").inc()
        return body

    def _sign_request(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        request: RemoteSignRequest,
        may_write: bool,
    ) -> bytes:
        with self._context.store.read() as tx:
            try:
                found = self._context.warehouse(tx, warehouse)
                record = require_object(tx, found.id, namespace, name, "table")
            except NotFound as error:
                # The spec documents no 404 here: there is nothing to sign for.
                raise Forbidden(f"{error.message}: nothing to sign for") from error
        location = record.location
        profile = self._context.storage.profile(found)
        if self._context.vendors.vendor(found, profile) is None:
            raise BadRequest("Remote signing needs a warehouse on S3-compatible storage")
        scope = parse_request(request.method, request.uri, request.headers, request.body, profile)
        check_scope(request.method, scope, location, may_write)
        credential = self.vend(found, location, "write" if may_write else "read")
        if credential is None:
            raise BadRequest("Remote signing needs a warehouse on S3-compatible storage")
        config = credential.config
        headers = sign(
            request.method,
            request.uri,
            request.headers,
            request.region or config.get("client.region", "auto"),
            config["s3.access-key-id"],
            config["s3.secret-access-key"],
            config.get("s3.session-token"),
            signed_payload(scope, request.body),
        )
        return dumps({"uri": request.uri, "headers": headers})

    def locate(self, request: RemoteSignRequest) -> tuple[str, tuple[str, ...], str]:
        """The table an S3 request falls in: (warehouse, namespace, name). For the signer
        protocol's /v1/aws/s3/sign, whose requests name no table; `sign_request` then checks
        the whole request against that table."""
        with self._context.store.read() as tx:
            for warehouse in tx.list_warehouses():
                if not warehouse.location.startswith("s3"):
                    continue
                try:
                    # A warehouse whose secrets this server cannot open holds no table we
                    # could sign for; it must not make signing fail for every other one.
                    profile = self._context.storage.profile(warehouse)
                except SecretsUnavailable:
                    continue
                try:
                    scope = parse_request(
                        request.method, request.uri, request.headers, request.body, profile
                    )
                except BadRequest:
                    continue
                found = located_object(scope)
                if found is None:
                    continue
                bucket, key = found
                location = f"s3://{bucket}/{key}".rstrip("/")
                if not is_within(location, warehouse.location):
                    continue
                record = tx.object_at(warehouse.id, location)
                if record is not None and record.kind == "table":
                    return warehouse.name, record.namespace, record.name
        raise Forbidden("The request's URL lies in no table of this catalog: nothing to sign for")

    def client_defaults(self, warehouse: WarehouseRecord) -> dict[str, str]:
        """Config defaults: ask for vended credentials wherever this warehouse can vend."""
        profile = self._context.storage.profile(warehouse)
        if self._context.vendors.vendor(warehouse, profile) is None:
            return {}
        return {"header.X-Iceberg-Access-Delegation": "vended-credentials"}

    def load_credentials(
        self, warehouse: str, namespace: Sequence[str], name: str, access: Access
    ) -> bytes:
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_object(tx, found.id, namespace, name, "table")
        location = record.location
        credential = self.vend(found, location, access)
        if credential is None:
            return dumps({"storage-credentials": []})
        metrics.VENDED_CREDENTIALS.labels(VendorRegistry.kind(found)).inc()
        return dumps({"storage-credentials": [credential.as_wire()]})

    # reads ------------------------------------------------------------------------------
    def list(
        self,
        warehouse: str,
        namespace: Sequence[str],
        page_token: str | None,
        page_size: int | None,
        kind: ObjectKind = "table",
    ) -> bytes:
        page = self._context.limits.page(page_token, page_size)
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            ns = require_namespace(tx, found.id, namespace)
            rows = tx.list_objects(ns.id, kind, page.after, page.fetch)
        return object_page(namespace, rows, page)

    def load(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        mode: SnapshotMode = "all",
        if_none_match: str | None = None,
        delegation: Delegation = NO_DELEGATION,
    ) -> LoadedTable | str:
        """The response, or just the ETag when the client's copy is current."""
        with self._context.store.read() as tx:
            found, record = self._warehouse_and_table(tx, warehouse, namespace, name)
        etag = table_etag(record.metadata_location, mode)
        if etag_matches(etag, if_none_match):
            return etag
        text = record.metadata_json
        if mode == "refs":
            text = only_referenced_snapshots(text)
        location = record.location
        table = self.table_config(found, location, delegation, (namespace, name))
        body = load_result(record.metadata_location, text, table.config, table.storage_credentials)
        return LoadedTable(body, etag)

    def _warehouse_and_table(
        self, tx: CatalogTransaction, warehouse: str, namespace: Sequence[str], name: str
    ) -> tuple[WarehouseRecord, ObjectRecord]:
        """loadTable's lookups, the warehouse row from a short-lived cache (a warehouse has no
        update, and a deleted one was empty, so a stale entry can only make the table lookup
        miss: then the warehouse is looked up afresh before answering 404)."""
        now = time.monotonic()
        cached = self._warehouses.get(warehouse)
        if cached is not None and now - cached[0] < WAREHOUSE_CACHE_SECONDS:
            with contextlib.suppress(NotFound):
                found = cached[1]
                return found, require_object(
                    tx, found.id, namespace, name, "table", check_namespace=False
                )
        found = self._context.warehouse(tx, warehouse)
        self._warehouses[warehouse] = (now, found)
        return found, require_object(tx, found.id, namespace, name, "table", check_namespace=False)

    def exists(self, warehouse: str, namespace: Sequence[str], name: str) -> None:
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            require_object(tx, found.id, namespace, name, "table")

    # writes -----------------------------------------------------------------------------
    def create(
        self,
        warehouse: str,
        namespace: Sequence[str],
        request: CreateTableRequest,
        ticket: IdempotencyTicket | None,
        delegation: Delegation = NO_DELEGATION,
        *,
        placer: Placer,
    ) -> bytes:
        name = check_new_name(request.name)
        check_property_keys(placer, request.properties)
        table_uuid = uuid.uuid4()
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            ns = require_namespace(tx, found.id, namespace)
            if tx.object(found.id, namespace, name) is not None:
                raise AlreadyExists(f"Table already exists: {dotted((*namespace, name))}")
        if request.location:
            location = require_within(request.location, found.location, "table location")
        else:
            location = default_object_location(
                found.location, namespace, ns.properties.get("location"), name, table_uuid
            )
        check_object_placement(placer, found, ns, location)
        try:
            metadata = new_table_metadata(
                schema=request.table_schema,
                partition_spec=request.partition_spec or UNPARTITIONED_PARTITION_SPEC,
                sort_order=request.write_order or UNSORTED_SORT_ORDER,
                location=location,
                properties=dict(request.properties),
                table_uuid=table_uuid,
            )
        except (ValueError, KeyError, NotImplementedError, IcebergValidationError) as error:
            raise ValidationFailed(f"Invalid table definition: {error}") from error
        check_table_paths(location, metadata.properties, found.location)
        text = metadata_to_json(metadata)
        table = self.table_config(found, location, delegation, (namespace, name))
        if request.stage_create:
            return load_result(None, text, table.config, table.storage_credentials)
        metadata_location = table_metadata_file(location, dict(metadata.properties), 0)
        store = self._context.storage.for_warehouse(found)
        write_metadata_file(store, metadata_location, text)
        try:
            with self._context.store.write() as tx:
                check_no_overlap(tx, found.id, location, None)
                created = tx.insert_object(ns, name, "table", metadata_location, text, location)
                tx.emit(
                    object_event(
                        EventType.TABLE_CREATED,
                        warehouse,
                        created.id,
                        namespace,
                        name,
                        {"table-uuid": str(table_uuid), "metadata-location": metadata_location},
                    )
                )
                # The stored replay carries no secrets; a retrying client reloads credentials.
                finalize(tx, ticket, load_result(metadata_location, text, {}))
                return load_result(metadata_location, text, table.config, table.storage_credentials)
        except BaseException:
            store.delete(metadata_location)
            raise

    def commit(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        request: CommitTableRequest,
        ticket: IdempotencyTicket | None,
        *,
        placer: Placer,
        audit: AuditEntry | None = None,
    ) -> bytes:
        if request.identifier is not None and (
            tuple(request.identifier.namespace) != tuple(namespace)
            or request.identifier.name != name
        ):
            raise BadRequest("The identifier in the body does not match the path")
        change = TableChange(tuple(namespace), name, request)
        return self._committer.commit(
            warehouse, [change], ticket, respond_with_first=True, placer=placer, audit=audit
        )

    def commit_transaction(
        self,
        warehouse: str,
        requests: Sequence[CommitTableRequest],
        ticket: IdempotencyTicket | None,
        *,
        placer: Placer,
        audit: AuditEntry | None = None,
    ) -> bytes:
        if not requests:
            raise BadRequest("A transaction needs at least one table change")
        changes = []
        for request in requests:
            if request.identifier is None:
                raise BadRequest("Every table change in a transaction needs an identifier")
            changes.append(
                TableChange(tuple(request.identifier.namespace), request.identifier.name, request)
            )
        if len({(c.namespace, c.name) for c in changes}) != len(changes):
            raise BadRequest("A transaction may change each table only once")
        return self._committer.commit(
            warehouse, changes, ticket, respond_with_first=False, placer=placer, audit=audit
        )

    def drop(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        purge: bool,
        ticket: IdempotencyTicket | None,
        actor: Actor = CLI,
    ) -> bytes:
        """To the warehouse's trash (`service.trash`), or for good when its retention is 0."""
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_object(tx, found.id, namespace, name, "table")
            gone = discard(self._context, tx, found, record, purge=purge, actor=actor)
            finalize(tx, ticket, b"")
        if purge and gone:
            purge_files(self._context, found, record.location, record.name)
        return b""

    def rename(
        self,
        warehouse: str,
        source: tuple[Sequence[str], str],
        destination: tuple[Sequence[str], str],
        ticket: IdempotencyTicket | None,
        kind: ObjectKind = "table",
    ) -> bytes:
        check_new_name(destination[1], f"{kind} name")
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_object(tx, found.id, source[0], source[1], kind)
            refuse_if_protected(record, "renamed")
            target_ns = require_namespace(tx, found.id, destination[0])
            existing = tx.object(found.id, destination[0], destination[1])
            if existing is not None and existing.id != record.id:
                what = existing.kind.capitalize()
                raise AlreadyExists(
                    f"{what} with same name already exists: "
                    f"{dotted((*destination[0], destination[1]))}"
                )
            tx.move_object(record, target_ns, destination[1])
            tx.emit(
                object_event(
                    EventType.TABLE_RENAMED if kind == "table" else EventType.VIEW_RENAMED,
                    warehouse,
                    record.id,
                    destination[0],
                    destination[1],
                    {"from": {"namespace": list(source[0]), "name": source[1]}},
                )
            )
            return finalize(tx, ticket, b"")

    def register(
        self,
        warehouse: str,
        namespace: Sequence[str],
        request: RegisterTableRequest,
        ticket: IdempotencyTicket | None,
        delegation: Delegation = NO_DELEGATION,
        *,
        placer: Placer,
    ) -> bytes:
        name = check_new_name(request.name)
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            placed_in = require_namespace(tx, found.id, namespace)
        location = require_within(request.metadata_location, found.location, "metadata location")
        check_object_placement(placer, found, placed_in, location, "metadata location")
        store = self._context.storage.for_warehouse(found)
        metadata = read_registered_metadata(store, location, parse_table_metadata)
        check_table_paths(metadata.location, metadata.properties, found.location)
        check_property_keys(placer, metadata.properties)
        check_object_placement(placer, found, placed_in, metadata.location)
        document = metadata_document(metadata)
        check_registered_paths(document, location)
        text = orjson.dumps(document).decode("utf-8")
        with self._context.store.write() as tx:
            ns = require_namespace(tx, found.id, namespace)
            existing = tx.object(found.id, namespace, name)
            if existing is not None and not (request.overwrite and existing.kind == "table"):
                raise AlreadyExists(
                    f"{existing.kind.capitalize()} already exists: {dotted((*namespace, name))}"
                )
            if existing is not None:
                refuse_if_protected(existing, "replaced by a register")
                check_no_overlap(tx, found.id, metadata.location, existing.id)
                tx.swap(
                    [PointerSwap(existing.id, existing.version, location, text, metadata.location)]
                )
                object_id = existing.id
            else:
                check_no_overlap(tx, found.id, metadata.location, None)
                object_id = tx.insert_object(
                    ns, name, "table", location, text, metadata.location
                ).id
            tx.emit(
                object_event(
                    EventType.TABLE_REGISTERED,
                    warehouse,
                    object_id,
                    namespace,
                    name,
                    {
                        "table-uuid": str(metadata.table_uuid),
                        "metadata-location": location,
                        "overwrite": existing is not None,
                    },
                )
            )
            finalize(tx, ticket, load_result(location, text, {}))
        table = self.table_config(found, metadata.location, delegation, (namespace, name))
        return load_result(location, text, table.config, table.storage_credentials)

    def unregister(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        ticket: IdempotencyTicket | None,
    ) -> bytes:
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_object(tx, found.id, namespace, name, "table")
            refuse_if_protected(record, "unregistered")
            if tx.delete_object(record):
                tx.emit(
                    object_event(
                        EventType.TABLE_UNREGISTERED,
                        warehouse,
                        record.id,
                        namespace,
                        name,
                        {"metadata-location": record.metadata_location},
                    )
                )
            body = commit_result(record.metadata_location, record.metadata_json)
            return finalize(tx, ticket, body)

    def report_metrics(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        report: ReportMetricsRequest,
        ticket: IdempotencyTicket | None,
    ) -> bytes:
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            require_object(tx, found.id, namespace, name, "table")
            tx.insert_metrics(
                found.id,
                namespace,
                name,
                report.report_type,
                report.model_dump(mode="json", by_alias=True),
            )
            return finalize(tx, ticket, b"")
