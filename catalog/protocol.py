"""The REST spec's request and response envelopes, named as in the spec.

The pieces inside them (schemas, partition specs, sort orders, table updates and requirements,
table metadata) are pyiceberg's own models. Requests forbid unknown fields, so a misspelt
field is a 400 rather than a silently ignored wish.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ModelWrapValidatorHandler, model_validator
from pydantic import ValidationError as PydanticValidationError
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import SortOrder
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.view.metadata import ViewVersion

from catalog.integers import integer_problem
from catalog.service.extra_updates import AddEncryptionKeyUpdate, RemoveEncryptionKeyUpdate
from catalog.service.view_updates import AssertViewUUID, ViewUpdate

Properties = dict[str, str]


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _LONE_SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


class Body(BaseModel):
    """What every request body must be, before the spec's own rules."""

    @model_validator(mode="wrap")
    @classmethod
    def _malformed_input_is_invalid(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self]
    ) -> Self:
        """JSON may escape half a surrogate pair (`"\\ud800"`), which no UTF-8 text, database
        or response can hold. And pyiceberg's validators assume well-shaped JSON: given a list
        where they expect an object, or `decimal(2000, 1)`, they raise TypeError, KeyError,
        AttributeError or their own ValidationError, which pydantic lets through as a 500.
        Whatever validating a request body raises is the client's error: a 400.
        An integer field outside its type's range, or a float, bool or string in its place, is
        refused here, before pydantic's lax `int` accepts it (catalog/integers.py)."""
        try:
            if _has_lone_surrogate(data):
                raise ValueError("strings must be Unicode text: a lone surrogate escape is not")
            if problem := integer_problem(data):
                raise ValueError(problem)
            return handler(data)
        except (PydanticValidationError, ValueError):
            raise
        except Exception as error:
            raise ValueError(f"{type(error).__name__}: {error}") from error


class Request(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Response(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class TableIdentifier(Request):
    namespace: list[str]
    name: str


class CreateNamespaceRequest(Request):
    namespace: list[str]
    properties: Properties = Field(default_factory=dict)


class UpdateNamespacePropertiesRequest(Request):
    removals: list[str] = Field(default_factory=list)
    updates: Properties = Field(default_factory=dict)


class CreateTableRequest(Request):
    name: str
    location: str | None = None
    table_schema: Schema = Field(alias="schema")
    partition_spec: PartitionSpec | None = Field(default=None, alias="partition-spec")
    write_order: SortOrder | None = Field(default=None, alias="write-order")
    stage_create: bool = Field(default=False, alias="stage-create")
    properties: Properties = Field(default_factory=dict)


class RegisterTableRequest(Request):
    name: str
    metadata_location: str = Field(alias="metadata-location")
    overwrite: bool = False


class RegisterViewRequest(Request):
    name: str
    metadata_location: str = Field(alias="metadata-location")


AnyTableUpdate = Annotated[
    TableUpdate | AddEncryptionKeyUpdate | RemoveEncryptionKeyUpdate,
    Field(union_mode="left_to_right"),
]


class CommitTableRequest(Request):
    identifier: TableIdentifier | None = None
    requirements: list[TableRequirement] = Field(default_factory=list)
    updates: list[AnyTableUpdate] = Field(default_factory=list)


class CommitTransactionRequest(Request):
    table_changes: list[CommitTableRequest] = Field(alias="table-changes")


class RenameTableRequest(Request):
    source: TableIdentifier
    destination: TableIdentifier


class CreateViewRequest(Request):
    name: str
    location: str | None = None
    view_schema: Schema = Field(alias="schema")
    view_version: ViewVersion = Field(alias="view-version")
    properties: Properties = Field(default_factory=dict)


class CommitViewRequest(Request):
    identifier: TableIdentifier | None = None
    requirements: list[AssertViewUUID] = Field(default_factory=list)
    updates: list[ViewUpdate] = Field(default_factory=list)


class RemoteSignRequest(Request):
    region: str
    uri: str
    method: Literal["PUT", "GET", "HEAD", "POST", "DELETE", "PATCH", "OPTIONS"]
    headers: dict[str, list[str]]
    properties: Properties = Field(default_factory=dict)
    body: str | None = None
    provider: str | None = None


class ReportMetricsRequest(Body):
    """A scan or commit report; stored as sent, so newer report fields are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    report_type: Literal["scan-report", "commit-report"] = Field(alias="report-type")
    table_name: str = Field(alias="table-name")
    snapshot_id: int = Field(alias="snapshot-id")


class CatalogConfig(Response):
    defaults: Properties
    overrides: Properties
    endpoints: list[str]
    idempotency_key_lifetime: str = Field(alias="idempotency-key-lifetime")


class CreateNamespaceResponse(Response):
    namespace: list[str]
    properties: Properties


class GetNamespaceResponse(Response):
    namespace: list[str]
    properties: Properties


class ListNamespacesResponse(Response):
    namespaces: list[list[str]]
    next_page_token: str | None = Field(default=None, alias="next-page-token")


class UpdateNamespacePropertiesResponse(Response):
    updated: list[str]
    removed: list[str]
    missing: list[str] | None = None


class TableIdentifierOut(Response):
    namespace: list[str]
    name: str


class ListTablesResponse(Response):
    identifiers: list[TableIdentifierOut]
    next_page_token: str | None = Field(default=None, alias="next-page-token")


class LoadTableResult(Response):
    """Declared for the OpenAPI document; the service renders these bytes itself."""

    metadata_location: str | None = Field(default=None, alias="metadata-location")
    metadata: dict[str, Any]
    config: Properties = Field(default_factory=dict)


class CommitTableResponse(Response):
    metadata_location: str = Field(alias="metadata-location")
    metadata: dict[str, Any]


class LoadViewResult(Response):
    metadata_location: str = Field(alias="metadata-location")
    metadata: dict[str, Any]
    config: Properties = Field(default_factory=dict)


class ListFunctionsResponse(Response):
    identifiers: list[list[str]]
    next_page_token: str | None = Field(default=None, alias="next-page-token")


class LoadFunctionResult(Response):
    """Declared for the OpenAPI document; the service renders these bytes itself."""

    metadata_location: str | None = Field(default=None, alias="metadata-location")
    metadata: dict[str, Any]


class ErrorModel(Response):
    message: str
    type: str
    code: int
    stack: list[str] | None = None


class IcebergErrorResponse(Response):
    error: ErrorModel
