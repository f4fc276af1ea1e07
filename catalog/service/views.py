"""Views: the same pointer-and-swap life as tables, with the view spec's update rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pydantic import ValidationError
from pyiceberg.view.metadata import ViewMetadata

from catalog.events.types import EventType, object_event
from catalog.exceptions import (
    AlreadyExists,
    BadRequest,
    PointerMoved,
    ValidationFailed,
)
from catalog.protocol import CommitViewRequest, CreateViewRequest, RegisterViewRequest
from catalog.service.audit import CLI, Actor
from catalog.service.commits import write_metadata_file
from catalog.service.context import ServiceContext, finalize
from catalog.service.identifiers import check_new_name, dotted
from catalog.service.locations import (
    check_no_overlap,
    default_object_location,
    metadata_version,
    require_within,
    view_metadata_file,
)
from catalog.service.namespaces import require_namespace
from catalog.service.placement import Placer, check_object_placement
from catalog.service.protection import check_property_keys, check_property_updates
from catalog.service.rendering import load_result
from catalog.service.tables import read_registered_metadata, require_object
from catalog.service.trash import discard
from catalog.service.view_updates import apply_view_updates, new_view_metadata
from catalog.store.records import IdempotencyTicket, PointerSwap


def parse_view_metadata(text: str) -> ViewMetadata:
    try:
        return ViewMetadata.model_validate_json(text)
    except (ValidationError, ValueError) as error:
        raise ValidationFailed(f"Invalid view metadata: {error}") from error


def _json(metadata: ViewMetadata) -> str:
    return metadata.model_dump_json(by_alias=True, exclude_none=True)


class ViewService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def load(self, warehouse: str, namespace: Sequence[str], name: str) -> bytes:
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_object(tx, found.id, namespace, name, "view", check_namespace=False)
        return load_result(record.metadata_location, record.metadata_json, {})

    def exists(self, warehouse: str, namespace: Sequence[str], name: str) -> None:
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            require_object(tx, found.id, namespace, name, "view")

    def create(
        self,
        warehouse: str,
        namespace: Sequence[str],
        request: CreateViewRequest,
        ticket: IdempotencyTicket | None,
        *,
        placer: Placer,
    ) -> bytes:
        name = check_new_name(request.name, "view name")
        check_property_keys(placer, request.properties)
        view_uuid = uuid.uuid4()
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            ns = require_namespace(tx, found.id, namespace)
            existing = tx.object(found.id, namespace, name)
            if existing is not None:
                raise AlreadyExists(
                    f"{existing.kind.capitalize()} with same name already exists: "
                    f"{dotted((*namespace, name))}"
                )
        if request.location:
            location = require_within(request.location, found.location, "view location")
        else:
            location = default_object_location(
                found.location, namespace, ns.properties.get("location"), name, view_uuid
            )
        check_object_placement(placer, found, ns, location, "view location")
        metadata = new_view_metadata(
            str(view_uuid), location, request.view_schema, request.view_version, request.properties
        )
        text = _json(metadata)
        metadata_location = view_metadata_file(location, 0)
        store = self._context.storage.for_warehouse(found)
        write_metadata_file(store, metadata_location, text)
        try:
            with self._context.store.write() as tx:
                check_no_overlap(tx, found.id, location, None)
                created = tx.insert_object(ns, name, "view", metadata_location, text, location)
                tx.emit(
                    object_event(
                        EventType.VIEW_CREATED,
                        warehouse,
                        created.id,
                        namespace,
                        name,
                        {"view-uuid": str(view_uuid), "metadata-location": metadata_location},
                    )
                )
                return finalize(tx, ticket, load_result(metadata_location, text, {}))
        except BaseException:
            store.delete(metadata_location)
            raise

    def replace(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        request: CommitViewRequest,
        ticket: IdempotencyTicket | None,
        *,
        placer: Placer,
    ) -> bytes:
        if request.identifier is not None and (
            tuple(request.identifier.namespace) != tuple(namespace)
            or request.identifier.name != name
        ):
            raise BadRequest("The identifier in the body does not match the path")
        check_property_updates(placer, request.updates)
        attempts = self._context.limits.commit_retries + 1
        for attempt in range(attempts):
            with self._context.store.read() as tx:
                found = self._context.warehouse(tx, warehouse)
                ns = require_namespace(tx, found.id, namespace)
                record = require_object(tx, found.id, namespace, name, "view")
            base = parse_view_metadata(record.metadata_json)
            for requirement in request.requirements:
                requirement.validate_against(base)
            metadata = apply_view_updates(base, request.updates)
            location = require_within(metadata.location, found.location, "view location")
            if location != record.location.rstrip("/"):
                check_object_placement(placer, found, ns, location, "view location")
            text = _json(metadata)
            metadata_location = view_metadata_file(
                location, metadata_version(record.metadata_location) + 1
            )
            store = self._context.storage.for_warehouse(found)
            write_metadata_file(store, metadata_location, text)
            try:
                with self._context.store.write() as tx:
                    check_no_overlap(tx, found.id, location, record.id)
                    tx.swap(
                        [
                            PointerSwap(
                                record.id,
                                record.version,
                                metadata_location,
                                text,
                                location,
                                kind="view",
                            )
                        ]
                    )
                    tx.emit(
                        object_event(
                            EventType.VIEW_REPLACED,
                            warehouse,
                            record.id,
                            namespace,
                            name,
                            {
                                "view-uuid": metadata.view_uuid,
                                "metadata-location": metadata_location,
                                "previous-metadata-location": record.metadata_location,
                                "current-version-id": metadata.current_version_id,
                            },
                        )
                    )
                    return finalize(tx, ticket, load_result(metadata_location, text, {}))
            except BaseException as error:
                store.delete(metadata_location)
                if isinstance(error, PointerMoved) and attempt + 1 < attempts:
                    continue
                raise
        raise AssertionError("unreachable")

    def drop(
        self,
        warehouse: str,
        namespace: Sequence[str],
        name: str,
        ticket: IdempotencyTicket | None,
        actor: Actor = CLI,
    ) -> bytes:
        with self._context.store.write() as tx:
            found = self._context.warehouse(tx, warehouse)
            record = require_object(tx, found.id, namespace, name, "view")
            discard(self._context, tx, found, record, purge=False, actor=actor)
            return finalize(tx, ticket, b"")

    def register(
        self,
        warehouse: str,
        namespace: Sequence[str],
        request: RegisterViewRequest,
        ticket: IdempotencyTicket | None,
        *,
        placer: Placer,
    ) -> bytes:
        name = check_new_name(request.name, "view name")
        with self._context.store.read() as tx:
            found = self._context.warehouse(tx, warehouse)
            placed_in = require_namespace(tx, found.id, namespace)
        location = require_within(request.metadata_location, found.location, "metadata location")
        check_object_placement(placer, found, placed_in, location, "metadata location")
        store = self._context.storage.for_warehouse(found)
        metadata = read_registered_metadata(store, location, parse_view_metadata)
        require_within(metadata.location, found.location, "view location")
        check_object_placement(placer, found, placed_in, metadata.location, "view location")
        text = _json(metadata)
        with self._context.store.write() as tx:
            ns = require_namespace(tx, found.id, namespace)
            check_no_overlap(tx, found.id, metadata.location, None)
            created = tx.insert_object(ns, name, "view", location, text, metadata.location)
            tx.emit(
                object_event(
                    EventType.VIEW_REGISTERED,
                    warehouse,
                    created.id,
                    namespace,
                    name,
                    {"view-uuid": metadata.view_uuid, "metadata-location": location},
                )
            )
            return finalize(tx, ticket, load_result(location, text, {}))
