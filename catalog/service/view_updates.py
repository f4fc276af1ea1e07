"""View metadata changes. pyiceberg models views but has no update logic for them, so the
builder rules of the Iceberg view spec (and of the Java `ViewMetadata.Builder`) live here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import singledispatch
from typing import Annotated, Literal

from pydantic import Field
from pyiceberg.schema import Schema
from pyiceberg.table.update import (
    AddSchemaUpdate,
    AssignUUIDUpdate,
    RemovePropertiesUpdate,
    SetLocationUpdate,
    SetPropertiesUpdate,
    UpgradeFormatVersionUpdate,
)
from pyiceberg.typedef import IcebergBaseModel
from pyiceberg.view.metadata import ViewHistoryEntry, ViewMetadata, ViewVersion

from catalog.exceptions import CommitFailed, ValidationFailed

VERSION_HISTORY_SIZE = "version.history.num-entries"
DEFAULT_VERSION_HISTORY_SIZE = 10
LAST_ADDED = -1


class AddViewVersionUpdate(IcebergBaseModel):
    action: Literal["add-view-version"] = Field(default="add-view-version")
    view_version: ViewVersion = Field(alias="view-version")


class SetCurrentViewVersionUpdate(IcebergBaseModel):
    action: Literal["set-current-view-version"] = Field(default="set-current-view-version")
    view_version_id: int = Field(alias="view-version-id")


class AssertViewUUID(IcebergBaseModel):
    # Required, as in the spec: a requirement that names no type is not this one.
    type: Literal["assert-view-uuid"]
    uuid: str

    def validate_against(self, metadata: ViewMetadata) -> None:
        if metadata.view_uuid != self.uuid:
            raise CommitFailed(
                f"Requirement failed: view UUID does not match: expected {self.uuid}, "
                f"found {metadata.view_uuid}"
            )


ViewUpdate = Annotated[
    AssignUUIDUpdate
    | UpgradeFormatVersionUpdate
    | AddSchemaUpdate
    | SetLocationUpdate
    | SetPropertiesUpdate
    | RemovePropertiesUpdate
    | AddViewVersionUpdate
    | SetCurrentViewVersionUpdate,
    Field(discriminator="action"),
]


@dataclass
class _Builder:
    """Mutable working copy of a view's metadata while a list of updates is applied."""

    view_uuid: str
    location: str
    schemas: list[Schema]
    versions: list[ViewVersion]
    version_log: list[ViewHistoryEntry]
    properties: dict[str, str]
    current_version_id: int
    last_added_schema_id: int | None = None
    last_added_version_id: int | None = None
    history_changed: bool = False
    added_versions: set[int] = field(default_factory=set)

    @classmethod
    def empty(cls, view_uuid: str, location: str) -> _Builder:
        return cls(view_uuid, location, [], [], [], {}, -1)

    @classmethod
    def of(cls, metadata: ViewMetadata) -> _Builder:
        return cls(
            metadata.view_uuid,
            metadata.location,
            list(metadata.schemas),
            list(metadata.versions),
            list(metadata.version_log),
            dict(metadata.properties),
            metadata.current_version_id,
        )

    def add_schema(self, schema: Schema) -> int:
        for existing in self.schemas:
            if existing.fields == schema.fields and existing.identifier_field_ids == (
                schema.identifier_field_ids
            ):
                self.last_added_schema_id = existing.schema_id
                return existing.schema_id
        new_id = max((s.schema_id for s in self.schemas), default=-1) + 1
        self.schemas.append(schema.model_copy(update={"schema_id": new_id}))
        self.last_added_schema_id = new_id
        return new_id

    def add_version(self, version: ViewVersion) -> int:
        schema_id = version.schema_id
        if schema_id == LAST_ADDED:
            if self.last_added_schema_id is None:
                raise ValidationFailed("Cannot set last added schema: no schema has been added")
            schema_id = self.last_added_schema_id
        if not any(s.schema_id == schema_id for s in self.schemas):
            raise ValidationFailed(f"Cannot add version with unknown schema: {schema_id}")
        dialects = [r.root.dialect.lower() for r in version.representations]
        if len(dialects) != len(set(dialects)):
            raise ValidationFailed(f"Invalid view version: duplicate dialects {dialects}")
        if not version.representations:
            raise ValidationFailed("Invalid view version: no representations")
        candidate = version.model_copy(update={"schema_id": schema_id})
        for existing in self.versions:
            if _same_definition(existing, candidate):
                self.last_added_version_id = existing.version_id
                return existing.version_id
        new_id = max((v.version_id for v in self.versions), default=0) + 1
        self.versions.append(candidate.model_copy(update={"version_id": new_id}))
        self.added_versions.add(new_id)
        self.last_added_version_id = new_id
        return new_id

    def set_current_version(self, version_id: int) -> None:
        if version_id == LAST_ADDED:
            if self.last_added_version_id is None:
                raise ValidationFailed("Cannot set last version: no version has been added")
            version_id = self.last_added_version_id
        version = next((v for v in self.versions if v.version_id == version_id), None)
        if version is None:
            raise ValidationFailed(f"Cannot set current version to unknown version: {version_id}")
        if version_id == self.current_version_id:
            return
        self.current_version_id = version_id
        timestamp = (
            int(time.time() * 1000) if version_id in self.added_versions else version.timestamp_ms
        )
        self.version_log.append(ViewHistoryEntry(timestamp_ms=timestamp, version_id=version_id))

    def build(self) -> ViewMetadata:
        if self.current_version_id == -1:
            raise ValidationFailed("Invalid view metadata: no current version")
        history = int(self.properties.get(VERSION_HISTORY_SIZE, DEFAULT_VERSION_HISTORY_SIZE))
        if history < 1:
            raise ValidationFailed(f"{VERSION_HISTORY_SIZE} must be positive")
        versions = sorted(self.versions, key=lambda v: v.version_id)
        if len(versions) > history:
            keep = {v.version_id for v in versions[-history:]} | {self.current_version_id}
            versions = [v for v in versions if v.version_id in keep]
        kept_ids = {v.version_id for v in versions}
        log = [entry for entry in self.version_log if entry.version_id in kept_ids]
        used_schemas = {v.schema_id for v in versions}
        schemas = [s for s in self.schemas if s.schema_id in used_schemas]
        return ViewMetadata(
            view_uuid=self.view_uuid,
            format_version=1,
            location=self.location,
            schemas=schemas,
            current_version_id=self.current_version_id,
            versions=versions,
            version_log=log,
            properties=self.properties,
        )


def _same_definition(a: ViewVersion, b: ViewVersion) -> bool:
    return (
        a.schema_id == b.schema_id
        and a.representations == b.representations
        and a.default_catalog == b.default_catalog
        and list(a.default_namespace) == list(b.default_namespace)
        and a.summary == b.summary
    )


@singledispatch
def _apply(update: object, builder: _Builder) -> None:
    raise ValidationFailed(f"Unsupported view update: {update}")


@_apply.register
def _(update: AssignUUIDUpdate, builder: _Builder) -> None:
    if builder.view_uuid and str(update.uuid) != builder.view_uuid:
        raise ValidationFailed("Cannot reassign the UUID of an existing view")
    builder.view_uuid = str(update.uuid)


@_apply.register
def _(update: UpgradeFormatVersionUpdate, builder: _Builder) -> None:
    if update.format_version != 1:
        raise ValidationFailed(f"Unsupported view format version: {update.format_version}")


@_apply.register
def _(update: AddSchemaUpdate, builder: _Builder) -> None:
    builder.add_schema(update.schema_)


@_apply.register
def _(update: SetLocationUpdate, builder: _Builder) -> None:
    builder.location = update.location.rstrip("/")


@_apply.register
def _(update: SetPropertiesUpdate, builder: _Builder) -> None:
    builder.properties.update(update.updates)


@_apply.register
def _(update: RemovePropertiesUpdate, builder: _Builder) -> None:
    for key in update.removals:
        builder.properties.pop(key, None)


@_apply.register
def _(update: AddViewVersionUpdate, builder: _Builder) -> None:
    builder.add_version(update.view_version)


@_apply.register
def _(update: SetCurrentViewVersionUpdate, builder: _Builder) -> None:
    builder.set_current_version(update.view_version_id)


def apply_view_updates(base: ViewMetadata, updates: Iterable[object]) -> ViewMetadata:
    builder = _Builder.of(base)
    for update in updates:
        _apply(update, builder)
    return builder.build()


def new_view_metadata(
    view_uuid: str,
    location: str,
    schema: Schema,
    version: ViewVersion,
    properties: dict[str, str],
) -> ViewMetadata:
    builder = _Builder.empty(view_uuid, location)
    builder.properties.update(properties)
    schema_id = builder.add_schema(schema)
    version_id = builder.add_version(version.model_copy(update={"schema_id": schema_id}))
    builder.set_current_version(version_id)
    return builder.build()
