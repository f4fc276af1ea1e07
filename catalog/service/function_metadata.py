"""Function metadata (the spec's FunctionMetadata): what a client may send, and how the catalog
builds and evolves the document from it.

A client describes each definition (an overload: parameters, return type, SQL bodies); the
catalog owns everything that identifies and orders: the function's UUID, each definition's id
(its parameter types, as the spec derives it), version ids, timestamps and the definition log.
A replace keeps a definition's earlier versions, as a view keeps its earlier versions: one
whose body, determinism or null handling changed gets a new version, made current.

Nothing here is trusted: type strings must be Iceberg types, nesting is bounded, names are
unique where the spec says they identify, and the stored document is bounded in size.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog.exceptions import BadRequest, ValidationFailed
from catalog.protocol import Request

MAX_DEFINITIONS = 100
MAX_PARAMETERS = 256
MAX_REPRESENTATIONS = 32
MAX_TYPE_DEPTH = 16
MAX_LABEL_LENGTH = 255  # parameter, field and specific names, dialects
MAX_METADATA_BYTES = 1024 * 1024
#: Versions kept per definition, and definition-log entries kept: a function replaced every
#: minute for years stays loadable; the oldest go first, the current version never.
MAX_HISTORY = 100

_PRIMITIVES = frozenset(
    {
        "boolean",
        "int",
        "long",
        "float",
        "double",
        "date",
        "time",
        "timestamp",
        "timestamptz",
        "timestamp_ns",
        "timestamptz_ns",
        "string",
        "uuid",
        "binary",
        "variant",
        "unknown",
        "geometry",
        "geography",
    }
)
_PARAMETRIZED = re.compile(
    r"fixed\[[1-9]\d{0,8}\]"
    r"|decimal\((?P<precision>\d{1,2}),(?P<scale>\d{1,2})\)"
    r"|geometry\([^\s'\"()]{1,255}\)"
    r"|geography\([^\s'\"()]{1,255}(,[^\s'\"()]{1,64})?\)"
)


class _Nested(BaseModel):
    """The UDF spec requires only some fields of nested types; any other is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ListType(_Nested):
    type: Literal["list"]
    element: DataType


class MapType(_Nested):
    type: Literal["map"]
    key: DataType
    value: DataType


class StructField(_Nested):
    name: str
    type: DataType


class StructType(_Nested):
    type: Literal["struct"]
    fields: list[StructField]


DataType = str | Annotated[ListType | MapType | StructType, Field(discriminator="type")]
for _model in (ListType, MapType, StructField, StructType):
    _model.model_rebuild()


class FunctionParameter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    type: DataType
    doc: str | None = None


class SQLRepresentation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["sql"]
    dialect: str
    sql: str


class FunctionDefinitionIn(Request):
    """One definition as a client describes it (the admin API's create and replace)."""

    specific_name: str | None = Field(default=None, alias="specific-name")
    parameters: list[FunctionParameter] = Field(max_length=MAX_PARAMETERS)
    return_type: DataType = Field(alias="return-type")
    return_nullable: bool = Field(default=True, alias="return-nullable")
    function_type: Literal["udf", "udtf"] = Field(default="udf", alias="function-type")
    doc: str | None = None
    representations: list[SQLRepresentation] = Field(min_length=1, max_length=MAX_REPRESENTATIONS)
    deterministic: bool = False
    on_null_input: Literal["return-null", "call"] = Field(default="call", alias="on-null-input")


class ReplaceFunctionRequest(Request):
    """A function's whole new state: definitions left out are removed."""

    definitions: list[FunctionDefinitionIn] = Field(min_length=1, max_length=MAX_DEFINITIONS)
    doc: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)
    secure: bool = False


class CreateFunctionRequest(ReplaceFunctionRequest):
    name: str


# The stored document: the spec's schemas, field for field.


class _Stored(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class DefinitionVersion(_Stored):
    version_id: int = Field(alias="version-id")
    representations: list[SQLRepresentation]
    deterministic: bool = False
    on_null_input: Literal["return-null", "call"] = Field(default="call", alias="on-null-input")
    timestamp_ms: int = Field(alias="timestamp-ms")


class FunctionDefinition(_Stored):
    definition_id: str = Field(alias="definition-id")
    specific_name: str | None = Field(default=None, alias="specific-name")
    parameters: list[FunctionParameter]
    return_type: DataType = Field(alias="return-type")
    return_nullable: bool = Field(default=True, alias="return-nullable")
    versions: list[DefinitionVersion]
    current_version_id: int = Field(alias="current-version-id")
    function_type: Literal["udf", "udtf"] = Field(alias="function-type")
    doc: str | None = None

    @property
    def current(self) -> DefinitionVersion:
        return next(v for v in self.versions if v.version_id == self.current_version_id)


class DefinitionVersionRef(_Stored):
    definition_id: str = Field(alias="definition-id")
    version_id: int = Field(alias="version-id")


class DefinitionLogEntry(_Stored):
    timestamp_ms: int = Field(alias="timestamp-ms")
    definition_versions: list[DefinitionVersionRef] = Field(alias="definition-versions")


class FunctionMetadata(_Stored):
    function_uuid: str = Field(alias="function-uuid")
    format_version: Literal[1] = Field(default=1, alias="format-version")
    definitions: list[FunctionDefinition]
    definition_log: list[DefinitionLogEntry] = Field(alias="definition-log")
    properties: dict[str, str] = Field(default_factory=dict)
    secure: bool = False
    doc: str | None = None

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


def parse_function_metadata(text: str) -> FunctionMetadata:
    try:
        return FunctionMetadata.model_validate_json(text)
    except (ValidationError, ValueError) as error:
        raise ValidationFailed(f"Invalid function metadata: {error}") from error


def type_string(data_type: DataType, depth: int = 0) -> str:
    """The canonical text of a type, checked on the way: a definition's id is its parameters'
    types, comma-separated with no spaces (the spec); nested types read as Iceberg writes
    them in text (`list<int>`, `map<string,long>`, `struct<a:int>`)."""
    if depth > MAX_TYPE_DEPTH:
        raise BadRequest(f"Invalid function type: nested deeper than {MAX_TYPE_DEPTH} levels")
    if isinstance(data_type, str):
        return _primitive(data_type)
    if isinstance(data_type, ListType):
        return f"list<{type_string(data_type.element, depth + 1)}>"
    if isinstance(data_type, MapType):
        key = type_string(data_type.key, depth + 1)
        return f"map<{key},{type_string(data_type.value, depth + 1)}>"
    names = [_label(field.name, "struct field name") for field in data_type.fields]
    _unique(names, "struct field name")
    fields = (f"{f.name}:{type_string(f.type, depth + 1)}" for f in data_type.fields)
    return f"struct<{','.join(fields)}>"


def _primitive(text: str) -> str:
    if text in _PRIMITIVES:
        return text
    match = _PARAMETRIZED.fullmatch(text)
    if match is None:
        raise BadRequest(
            f"Invalid function type {text[:64]!r}: not an Iceberg type (e.g. int, string, "
            "decimal(9,2), or a list, map or struct object)"
        )
    precision = match.group("precision")
    if precision is not None and not int(match.group("scale")) <= int(precision) <= 38:
        raise BadRequest(f"Invalid function type {text!r}: decimal precision 1-38, scale ≤ it")
    return text


def _label(text: str, what: str) -> str:
    if not text or len(text) > MAX_LABEL_LENGTH or text != text.strip():
        raise BadRequest(
            f"Invalid {what} {text[:64]!r}: 1 to {MAX_LABEL_LENGTH} characters, "
            "no leading or trailing whitespace"
        )
    return text


def _unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise BadRequest(f"Duplicate {what}: {value[:64]!r}")
        seen.add(value)


def definition_id(definition: FunctionDefinitionIn) -> str:
    """The definition's identity (checks every parameter on the way)."""
    _unique([_label(p.name, "parameter name") for p in definition.parameters], "parameter name")
    return ",".join(type_string(p.type) for p in definition.parameters)


def _check_definition(definition: FunctionDefinitionIn) -> str:
    identity = definition_id(definition)
    type_string(definition.return_type)
    if definition.function_type == "udtf" and not isinstance(definition.return_type, StructType):
        raise BadRequest(
            f"Invalid definition ({identity}): a udtf's return-type must be a struct, "
            "the columns of the rows it returns"
        )
    dialects = [_label(r.dialect, "dialect") for r in definition.representations]
    _unique(dialects, "dialect in one definition")
    for representation in definition.representations:
        if not representation.sql.strip():
            raise BadRequest(
                f"Invalid definition ({identity}): empty SQL for {representation.dialect}"
            )
    if definition.specific_name is not None:
        _label(definition.specific_name, "specific name")
    return identity


def _checked(request: ReplaceFunctionRequest) -> list[tuple[str, FunctionDefinitionIn]]:
    identified = [(_check_definition(d), d) for d in request.definitions]
    _unique([identity for identity, _ in identified], "definition (same parameter types)")
    _unique([d.specific_name for _, d in identified if d.specific_name], "specific name")
    return identified


def _version(definition: FunctionDefinitionIn, version_id: int, now_ms: int) -> DefinitionVersion:
    return DefinitionVersion(
        version_id=version_id,
        representations=list(definition.representations),
        deterministic=definition.deterministic,
        on_null_input=definition.on_null_input,
        timestamp_ms=now_ms,
    )


def _same_body(version: DefinitionVersion, definition: FunctionDefinitionIn) -> bool:
    return (
        version.representations == list(definition.representations)
        and version.deterministic == definition.deterministic
        and version.on_null_input == definition.on_null_input
    )


def _definition(
    identity: str, given: FunctionDefinitionIn, versions: list[DefinitionVersion]
) -> FunctionDefinition:
    return FunctionDefinition(
        definition_id=identity,
        specific_name=given.specific_name,
        parameters=list(given.parameters),
        return_type=given.return_type,
        return_nullable=given.return_nullable,
        versions=versions[-MAX_HISTORY:],
        current_version_id=versions[-1].version_id,
        function_type=given.function_type,
        doc=given.doc,
    )


def _log_entry(definitions: list[FunctionDefinition], now_ms: int) -> DefinitionLogEntry:
    refs = [
        DefinitionVersionRef(definition_id=d.definition_id, version_id=d.current_version_id)
        for d in definitions
    ]
    return DefinitionLogEntry(timestamp_ms=now_ms, definition_versions=refs)


def bounded(metadata: FunctionMetadata) -> str:
    text = metadata.to_json()
    if len(text.encode("utf-8")) > MAX_METADATA_BYTES:
        raise BadRequest(f"Function metadata larger than {MAX_METADATA_BYTES} bytes")
    return text


def new_function_metadata(request: ReplaceFunctionRequest, now_ms: int) -> FunctionMetadata:
    definitions = [
        _definition(identity, given, [_version(given, 1, now_ms)])
        for identity, given in _checked(request)
    ]
    return FunctionMetadata(
        function_uuid=str(uuid.uuid4()),
        definitions=definitions,
        definition_log=[_log_entry(definitions, now_ms)],
        properties=request.properties,
        secure=request.secure,
        doc=request.doc,
    )


def replaced_function_metadata(
    base: FunctionMetadata, request: ReplaceFunctionRequest, now_ms: int
) -> FunctionMetadata:
    """`base` with the request's definitions: a definition already there keeps its versions
    and gets a new one only if its body changed; the definition log records each change of
    which versions are current (a definition added, removed or given a new version)."""
    before = {d.definition_id: d for d in base.definitions}
    definitions: list[FunctionDefinition] = []
    for identity, given in _checked(request):
        old = before.get(identity)
        if old is None:
            versions = [_version(given, 1, now_ms)]
        elif _same_body(old.current, given):
            versions = list(old.versions)  # the current version is always the newest
        else:
            next_id = max(v.version_id for v in old.versions) + 1
            versions = [*old.versions, _version(given, next_id, now_ms)]
        definitions.append(_definition(identity, given, versions))
    current = [(d.definition_id, d.current_version_id) for d in definitions]
    log = list(base.definition_log)
    if current != [(d.definition_id, d.current_version_id) for d in base.definitions]:
        log = [*log, _log_entry(definitions, now_ms)][-MAX_HISTORY:]
    return base.model_copy(
        update={
            "definitions": definitions,
            "definition_log": log,
            "properties": request.properties,
            "secure": request.secure,
            "doc": request.doc,
        }
    )
