"""Whatever a client sends, the answer is the spec's ErrorModel with a 4xx status (never a 5xx),
and a refused request changes nothing: no namespace, table or file appears, no table moves."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tests.support.error_model import assert_error
from tests.support.payloads import SCHEMA, commit, create_table, set_properties
from tests.support.raw_http import send_raw
from tests.support.server import CatalogServer

MB = 1024 * 1024


def view_version(namespace: str, sql: str = "SELECT 1") -> dict[str, Any]:
    return {
        "version-id": 1,
        "schema-id": 0,
        "timestamp-ms": 1_700_000_000_000,
        "summary": {"engine-name": "test"},
        "representations": [{"type": "sql", "sql": sql, "dialect": "spark"}],
        "default-namespace": [namespace],
    }


def view_body(namespace: str, name: str) -> dict[str, Any]:
    return {"name": name, "schema": SCHEMA, "view-version": view_version(namespace)}


def metadata_location(http: httpx.Client, namespace: str, table: str) -> str:
    response = http.get(f"/namespaces/{namespace}/tables/{table}")
    assert response.status_code == 200, response.text
    location: str = response.json()["metadata-location"]
    return location


def post_json_bytes(http: httpx.Client, path: str, body: bytes) -> httpx.Response:
    return http.post(path, content=body, headers={"Content-Type": "application/json"})


def auth(server: CatalogServer, **headers: str) -> dict[str, str]:
    return {**server.auth_headers, **headers}


@pytest.fixture
def table(http: httpx.Client, namespace: str) -> str:
    create_table(http, namespace, "t")
    return "t"


@pytest.fixture
def outside(catalog_server: CatalogServer) -> Iterator[Path]:
    """A directory next to the server's data, where no request may make it write."""
    path = catalog_server.data_dir.parent / f"outside-{uuid.uuid4().hex[:8]}"
    yield path
    assert not path.exists(), f"the server wrote outside its warehouse: {list(path.rglob('*'))}"


@pytest.fixture
def no_metadata_escapes(catalog_server: CatalogServer) -> Iterator[None]:
    """No metadata file written during the test lies outside the server's file warehouses and
    embedded object store (the search starts a level up, where `..` would lead)."""
    started = time.time()
    yield
    root = catalog_server.data_dir.parent
    escaped = [
        path
        for path in root.rglob("*.metadata.json")
        if path.stat().st_mtime >= started
        and path.relative_to(root).parts[1:2] not in (("warehouse",), ("objects",))
    ]
    assert escaped == []


# Bodies ---------------------------------------------------------------------------------------


def test_a_10_mb_body_is_refused_before_it_is_parsed(http: httpx.Client) -> None:
    name = f"big_{uuid.uuid4().hex[:8]}"
    body = json.dumps({"namespace": [name], "properties": {"k": "x" * (10 * MB)}})
    assert_error(http.post("/namespaces", content=body), 413, "PayloadTooLargeException")
    assert http.head(f"/namespaces/{name}").status_code == 404


def test_a_10_mb_body_without_a_length_is_refused_while_it_streams(http: httpx.Client) -> None:
    name = f"big_{uuid.uuid4().hex[:8]}"

    def chunks() -> Iterator[bytes]:
        yield f'{{"namespace": ["{name}"], "properties": {{"k": "'.encode()
        for _ in range(10):
            yield b"x" * MB
        yield b'"}}'

    response = http.post(
        "/namespaces", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "PayloadTooLargeException")
    assert http.head(f"/namespaces/{name}").status_code == 404


# How deep the JSON parser gets before it gives up depends on how deep the stack already is, so
# depths around Python's recursion limit are tried one by one: each is refused by some layer.
NESTING_DEPTHS = [*range(900, 1001, 10), 100_000]


@pytest.mark.parametrize(
    "path",
    [
        "/namespaces",
        "/namespaces/{ns}/tables",
        "/namespaces/{ns}/properties",
        "/namespaces/{ns}/tables/t/metrics",
        "/transactions/commit",
        "/tables/rename",
    ],
)
def test_deeply_nested_json_is_a_bad_request(http: httpx.Client, namespace: str, path: str) -> None:
    for depth in NESTING_DEPTHS:
        nested = b"[" * depth + b"]" * depth
        for body in (nested, b'{"namespace": ["x"], "properties": {"k": ' + nested + b"}}"):
            response = post_json_bytes(http, path.format(ns=namespace), body)
            assert_error(response, 400, "BadRequestException")
    assert http.head("/namespaces/x").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b'{"namespace": ["\xff"]}',
        b'{"namespace": ["ok"], "properties": {"k": "\xc3\x28"}}',
        # A surrogate encoded as if it were a character (CESU-8): not UTF-8.
        b'{"namespace": ["ok"], "properties": {"k": "\xed\xa0\x80"}}',
        b"\xfe\xff",
    ],
)
def test_invalid_utf8_in_a_body_is_a_bad_request(http: httpx.Client, body: bytes) -> None:
    assert_error(post_json_bytes(http, "/namespaces", body), 400, "BadRequestException")
    assert http.head("/namespaces/ok").status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/namespaces", '{"namespace": ["a\\ud800"]}'),
        ("/namespaces", '{"namespace": ["sur"], "properties": {"k": "\\udc00"}}'),
        ("/namespaces", '{"namespace": ["sur"], "properties": {"\\ud800": "v"}}'),
        ("/namespaces/{ns}/tables", '{"name": "\\ud800", "schema": %s}'),
        ("/namespaces/{ns}/properties", '{"updates": {"k": "\\ud83d"}}'),
        (
            "/namespaces/{ns}/tables/t/metrics",
            '{"report-type": "scan-report", "table-name": "\\udfff", "snapshot-id": 1}',
        ),
    ],
)
def test_half_a_surrogate_pair_is_a_bad_request(
    http: httpx.Client, namespace: str, table: str, path: str, body: str
) -> None:
    """JSON may escape half a surrogate pair; no UTF-8 text, database or response can hold it."""
    text = body.replace("%s", json.dumps(SCHEMA))
    response = post_json_bytes(http, path.format(ns=namespace), text.encode())
    assert_error(response, 400, "BadRequestException")
    assert http.head("/namespaces/sur").status_code == 404
    assert http.get(f"/namespaces/{namespace}").json()["properties"] == {}


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"namespace": ["a"],}', b"[]", b'"x"', b"null", b"NaN", b'{"namespace": 5}'],
)
def test_malformed_json_is_a_bad_request(http: httpx.Client, body: bytes) -> None:
    assert_error(post_json_bytes(http, "/namespaces", body), 400, "BadRequestException")
    assert http.head("/namespaces/a").status_code == 404


# Paths and names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/v1/default/namespaces/%FF",
        "/v1/default/namespaces/ok%C3%28/tables",
        "/v1/default/namespaces/x/tables/%ED%A0%80",
        "/v1/default/namespaces?parent=%FF",
        "/v1/default/namespaces?pageToken=%FE&pageSize=1",
    ],
)
def test_invalid_utf8_in_a_url_is_a_bad_request(catalog_server: CatalogServer, target: str) -> None:
    """Decoded leniently, `%FF` and `%FE` would both name the namespace U+FFFD."""
    response = send_raw(catalog_server, "GET", target, headers=auth(catalog_server))
    assert_error(response, 400, "BadRequestException")


@pytest.mark.parametrize(
    ("method", "target"),
    [("GET", b"/v1/default/namespaces/\xff\xfe"), ("FROBNICATE", b"/v1/default/namespaces")],
)
def test_requests_the_http_parser_refuses_are_bad_requests(
    catalog_server: CatalogServer, method: str, target: bytes
) -> None:
    """A request target is ASCII, and httptools knows a fixed list of methods: uvicorn answers
    these before the application sees them, so with a plain-text 400, not an ErrorModel."""
    assert send_raw(catalog_server, method, target).status_code == 400


@pytest.mark.parametrize(
    "levels",
    [[".."], ["."], ["%2e%2e"], ["%2E."], ["a/b"], ["a%2Fb"], ["..", "x"], ["a?b"], ["a#b"]],
)
@pytest.mark.usefixtures("no_metadata_escapes")
def test_namespace_levels_that_are_path_segments_are_refused(
    http: httpx.Client, levels: list[str]
) -> None:
    """Levels become directories of the default table location, which object stores
    percent-decode: `..` there would walk out of the warehouse."""
    before = http.get("/namespaces").json()["namespaces"]
    assert_error(http.post("/namespaces", json={"namespace": levels}), 400, "BadRequestException")
    assert http.get("/namespaces").json()["namespaces"] == before


@pytest.mark.parametrize(
    "name", ["..", ".", "%2e%2e", "a/b", "x%2F..%2F..%2Fy", "a?b", "a#b", "%2F"]
)
@pytest.mark.usefixtures("no_metadata_escapes")
def test_table_and_view_names_that_are_path_segments_are_refused(
    http: httpx.Client, namespace: str, name: str
) -> None:
    tables = f"/namespaces/{namespace}/tables"
    views = f"/namespaces/{namespace}/views"
    assert_error(http.post(tables, json={"name": name, "schema": SCHEMA}), 400)
    assert_error(http.post(views, json=view_body(namespace, name)), 400)
    create_table(http, namespace, "t")
    rename = {
        "source": {"namespace": [namespace], "name": "t"},
        "destination": {"namespace": [namespace], "name": name},
    }
    assert_error(http.post("/tables/rename", json=rename), 400)
    assert http.get(tables).json()["identifiers"] == [{"namespace": [namespace], "name": "t"}]
    assert http.get(views).json()["identifiers"] == []


@pytest.mark.parametrize(
    ("target", "status"),
    [
        # Starlette routes the path as sent: the `..` segments leave no route to match.
        ("/v1/default/namespaces/../../config", 404),
        ("/v1/default/namespaces/..%2F..%2Fconfig", 404),
        ("/v1/default/namespaces/%2e%2e/tables/t", 400),
        ("/v1/default/namespaces/%2e%2e", 400),
        ("/v1/default/namespaces/{ns}/tables/..", 400),
        ("/v1/default/namespaces/{ns}/tables/%2e%2e", 400),
        ("/v1/default/namespaces/{ns}/views/%2E%2E", 400),
    ],
)
def test_traversal_in_a_url_finds_no_route_or_a_bad_name(
    catalog_server: CatalogServer, namespace: str, target: str, status: int
) -> None:
    for method in ("GET", "DELETE"):
        target_here = target.format(ns=namespace)
        response = send_raw(catalog_server, method, target_here, headers=auth(catalog_server))
        assert_error(response, status)


@pytest.mark.usefixtures("no_metadata_escapes")
def test_locations_outside_the_warehouse_are_refused_wherever_they_come_from(
    http: httpx.Client, namespace: str, table: str, outside: Path
) -> None:
    elsewhere = outside.as_uri()
    before = metadata_location(http, namespace, table)
    loaded = http.get(f"/namespaces/{namespace}/tables/{table}").json()
    table_location = loaded["metadata"]["location"]

    # A namespace's `location` property is where its tables and views go by default.
    http.post("/namespaces", json={"namespace": [namespace, "far"], "properties": {}})
    moved = {"updates": {"location": elsewhere}}
    assert http.post(f"/namespaces/{namespace}%1Ffar/properties", json=moved).status_code == 200
    far = f"/namespaces/{namespace}%1Ffar"
    assert_error(http.post(f"{far}/tables", json={"name": "t", "schema": SCHEMA}), 400)
    assert_error(http.post(f"{far}/views", json=view_body(namespace, "v")), 400)

    # `write.metadata.path` moves the metadata files the server writes.
    escape = {"write.metadata.path": elsewhere}
    created = {"name": "u", "schema": SCHEMA, "properties": escape}
    assert_error(http.post(f"/namespaces/{namespace}/tables", json=created), 400)
    assert_error(commit(http, namespace, table, [set_properties(**escape)]), 400)

    # And a commit may not move a table, nor create one, outside.
    for location in (elsewhere, f"{table_location}/../../../../{outside.name}"):
        move = {"action": "set-location", "location": location}
        assert_error(commit(http, namespace, table, [move]), 400)
    staged = http.post(
        f"/namespaces/{namespace}/tables/staged",
        json={
            "requirements": [{"type": "assert-create"}],
            "updates": [
                {"action": "assign-uuid", "uuid": str(uuid.uuid4())},
                {"action": "upgrade-format-version", "format-version": 2},
                {"action": "add-schema", "schema": SCHEMA},
                {"action": "set-current-schema", "schema-id": -1},
                {"action": "add-spec", "spec": {"spec-id": 0, "fields": []}},
                {"action": "set-default-spec", "spec-id": -1},
                {"action": "add-sort-order", "sort-order": {"order-id": 0, "fields": []}},
                {"action": "set-default-sort-order", "sort-order-id": -1},
                {"action": "set-location", "location": elsewhere},
            ],
        },
    )
    assert_error(staged, 400)

    assert metadata_location(http, namespace, table) == before
    listed = http.get(f"/namespaces/{namespace}/tables").json()["identifiers"]
    assert [entry["name"] for entry in listed] == [table]
    assert http.get(f"{far}/tables").json()["identifiers"] == []


@pytest.mark.parametrize(
    "encoded", ["a%1F", "%1Fa", "a%1F%1Fb", "%1F", "a%00", "a%0A", "a%7F", "a%C2%85", "%20a"]
)
def test_control_characters_and_separator_misuse_in_a_namespace_path(
    http: httpx.Client, encoded: str
) -> None:
    """0x1F separates levels; leading, trailing or doubled, it makes an empty level."""
    assert_error(http.get(f"/namespaces/{encoded}"), 400, "BadRequestException")
    assert_error(http.delete(f"/namespaces/{encoded}"), 400, "BadRequestException")
    assert_error(http.get(f"/namespaces/{encoded}/tables"), 400, "BadRequestException")
    assert_error(http.get("/namespaces", params={"parent": unquote(encoded)}), 400)


@pytest.mark.parametrize(
    "levels", [["a\x1fb"], ["a\x00"], ["\n"], ["tab\t"], ["a\x7f"], ["a\u0085"], ["ok", "\x1f"]]
)
def test_control_characters_in_namespace_levels_are_refused(
    http: httpx.Client, levels: list[str]
) -> None:
    before = http.get("/namespaces").json()["namespaces"]
    assert_error(http.post("/namespaces", json={"namespace": levels}), 400, "BadRequestException")
    assert http.get("/namespaces").json()["namespaces"] == before


def test_names_longer_than_255_bytes_are_refused(http: httpx.Client, namespace: str) -> None:
    at_limit = "n" * 255
    for too_long in ("n" * 256, "é" * 128):  # 256 bytes either way
        assert_error(http.post("/namespaces", json={"namespace": [too_long]}), 400)
        tables = f"/namespaces/{namespace}/tables"
        assert_error(http.post(tables, json={"name": too_long, "schema": SCHEMA}), 400)
        views = f"/namespaces/{namespace}/views"
        assert_error(http.post(views, json=view_body(namespace, too_long)), 400)
        assert_error(http.get(f"/namespaces/{too_long}"), 400)
    assert_error(http.post("/namespaces", json={"namespace": [f"d{i}" for i in range(17)]}), 400)
    level = f"{namespace}\x1f{at_limit}"
    assert http.post("/namespaces", json={"namespace": [namespace, at_limit]}).status_code == 200
    assert http.get(f"/namespaces/{level.replace(chr(31), '%1F')}").status_code == 200


def test_empty_names_are_refused(http: httpx.Client, namespace: str, table: str) -> None:
    for levels in ([], [""], [namespace, ""], [" "]):
        assert_error(http.post("/namespaces", json={"namespace": levels}), 400)
    tables = f"/namespaces/{namespace}/tables"
    assert_error(http.post(tables, json={"name": "", "schema": SCHEMA}), 400)
    assert_error(http.post(f"/namespaces/{namespace}/views", json=view_body(namespace, "")), 400)
    rename = {
        "source": {"namespace": [namespace], "name": table},
        "destination": {"namespace": [], "name": table},
    }
    assert_error(http.post("/tables/rename", json=rename), 400)
    # An empty path segment leaves no route to match.
    assert_error(http.get(f"/namespaces/{namespace}/tables/"), 404, "NotFoundException")
    assert_error(http.get("/namespaces//tables"), 404, "NotFoundException")
    assert http.get(tables).json()["identifiers"] == [{"namespace": [namespace], "name": table}]


# Paging ---------------------------------------------------------------------------------------

LISTINGS = ["/namespaces", "/namespaces/{ns}/tables", "/namespaces/{ns}/views"]


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize(
    "size", ["0", "-1", "1001", "99999999999999999999999999", "x", "1e3", "1.5", "0x10", " "]
)
def test_absurd_page_sizes_are_bad_requests(
    http: httpx.Client, namespace: str, listing: str, size: str
) -> None:
    path = listing.format(ns=namespace)
    assert_error(http.get(path, params={"pageSize": size}), 400, "BadRequestException")


def _token(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize(
    "token",
    ["%%%", "!!!", "=", "x" * 10_000, _token(b"2:x"), _token(b"1:a\x00"), _token(b"\xff\xfe")],
)
def test_garbage_page_tokens_are_bad_requests(
    http: httpx.Client, namespace: str, listing: str, token: str
) -> None:
    path = listing.format(ns=namespace)
    response = http.get(path, params={"pageToken": token, "pageSize": 2})
    assert_error(response, 400, "BadRequestException")


@pytest.mark.parametrize("listing", LISTINGS)
def test_an_empty_page_token_starts_paging(
    http: httpx.Client, namespace: str, listing: str
) -> None:
    """The spec: clients may start paginating by sending an empty pageToken."""
    response = http.get(listing.format(ns=namespace), params={"pageToken": "", "pageSize": 1})
    assert response.status_code == 200, response.text


# Wrong types ----------------------------------------------------------------------------------

CREATE_TABLE_FIELDS: list[tuple[str, Any]] = [
    ("name", 5),
    ("name", None),
    ("name", ["t"]),
    ("location", 5),
    ("location", {"path": "x"}),
    ("schema", "struct"),
    ("schema", []),
    ("schema", {"type": "struct", "fields": "id"}),
    ("schema", {"type": "struct", "fields": [{"id": "one", "name": "id", "type": "long"}]}),
    (
        "schema",
        {
            "type": "struct",
            "fields": [{"id": 1, "name": "d", "type": "decimal(99,2)", "required": True}],
        },
    ),
    (
        "schema",
        {
            "type": "struct",
            "fields": [{"id": 1, "name": "f", "type": "fixed[-3]", "required": True}],
        },
    ),
    ("partition-spec", "identity"),
    ("partition-spec", {"fields": [["x"]]}),
    (
        "partition-spec",
        {"fields": [{"source-id": 1, "field-id": 1000, "name": "b", "transform": "bucket[-1]"}]},
    ),
    ("write-order", []),
    ("write-order", {"order-id": 1, "fields": [[None, None]]}),
    ("stage-create", {"yes": True}),
    ("stage-create", []),
    ("properties", []),
    ("properties", {"k": 1}),
    ("properties", {"k": None}),
    ("properties", {"format-version": "99"}),
    ("unknown-field", 1),
]


@pytest.mark.parametrize(("field", "value"), CREATE_TABLE_FIELDS)
def test_wrong_types_in_create_table_are_bad_requests(
    http: httpx.Client, namespace: str, field: str, value: Any
) -> None:
    body = {"name": "t", "schema": SCHEMA, field: value}
    assert_error(http.post(f"/namespaces/{namespace}/tables", json=body), 400)
    assert http.get(f"/namespaces/{namespace}/tables").json()["identifiers"] == []


COMMIT_FIELDS: list[tuple[str, Any]] = [
    ("identifier", 5),
    ("identifier", "ns.t"),
    ("identifier", {"namespace": "ns", "name": "t"}),
    ("identifier", {"namespace": ["ns"], "name": 1}),
    ("requirements", "assert-create"),
    ("requirements", {}),
    ("requirements", [5]),
    ("requirements", [{"type": 5}]),
    ("requirements", [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": "x"}]),
    ("requirements", [{"type": "assert-table-uuid", "uuid": "not-a-uuid"}]),
    ("updates", "set-properties"),
    ("updates", {}),
    ("updates", [5]),
    ("updates", [{"action": 5}]),
    ("updates", [{"action": "set-properties", "updates": ["k", "v"]}]),
    # Not here: `{"k": 1}` in set-properties. pyiceberg's model (and so PyIceberg clients)
    # turns property values into strings, and the server stores that string.
    ("updates", [{"action": "remove-properties", "removals": "k"}]),
    ("updates", [{"action": "set-statistics", "snapshot-id": 0}]),
    (
        "updates",
        [
            {
                "action": "add-schema",
                "schema": {
                    "type": "struct",
                    "fields": [
                        {"id": 1, "name": "d", "type": "decimal(2000,1)", "required": False}
                    ],
                },
            }
        ],
    ),
    (
        "updates",
        [
            {
                "action": "add-spec",
                "spec": {
                    "spec-id": 1,
                    "fields": [
                        {"source-id": 1, "field-id": 1000, "transform": "truncate[-1]", "name": "b"}
                    ],
                },
            }
        ],
    ),
    ("updates", [{"action": "upgrade-format-version", "format-version": "two"}]),
    ("updates", [{"action": "assign-uuid", "uuid": "not-a-uuid"}]),
    ("unknown-field", 1),
]


@pytest.mark.parametrize(("field", "value"), COMMIT_FIELDS)
def test_wrong_types_in_a_commit_are_bad_requests_and_change_nothing(
    http: httpx.Client, namespace: str, table: str, field: str, value: Any
) -> None:
    before = metadata_location(http, namespace, table)
    body = {"requirements": [], "updates": [], field: value}
    assert_error(http.post(f"/namespaces/{namespace}/tables/{table}", json=body), 400)
    transaction = {
        "table-changes": [{"identifier": {"namespace": [namespace], "name": table}, **body}]
    }
    assert_error(http.post("/transactions/commit", json=transaction), 400)
    assert metadata_location(http, namespace, table) == before


def test_unknown_update_actions_and_requirement_types_are_bad_requests(
    http: httpx.Client, namespace: str, table: str
) -> None:
    """The spec: an unknown update action or requirement type is a 400."""
    before = metadata_location(http, namespace, table)
    http.post(f"/namespaces/{namespace}/views", json=view_body(namespace, "v"))
    unknown = [
        {"requirements": [], "updates": [{"action": "drop-everything"}]},
        {"requirements": [{"type": "assert-nothing"}], "updates": []},
        {"requirements": [], "updates": [{"no-action": "set-properties"}]},
        {"requirements": [{"uuid": str(uuid.uuid4())}], "updates": []},
    ]
    for body in unknown:
        assert_error(http.post(f"/namespaces/{namespace}/tables/{table}", json=body), 400)
        assert_error(http.post(f"/namespaces/{namespace}/views/v", json=body), 400)
        identifier = {"namespace": [namespace], "name": table}
        changes = {"table-changes": [{"identifier": identifier, **body}]}
        assert_error(http.post("/transactions/commit", json=changes), 400)
    assert metadata_location(http, namespace, table) == before


@pytest.mark.parametrize(
    "updates",
    [
        [],
        [{"action": "set-properties", "updates": {"k": "v"}}],
        [
            {"action": "add-schema", "schema": SCHEMA},
            {"action": "set-current-schema", "schema-id": -1},
        ],
    ],
)
def test_a_create_by_commit_that_builds_no_complete_table_is_a_bad_request(
    http: httpx.Client, namespace: str, updates: list[dict[str, Any]]
) -> None:
    created = {"requirements": [{"type": "assert-create"}], "updates": updates}
    assert_error(http.post(f"/namespaces/{namespace}/tables/new", json=created), 400)
    assert http.head(f"/namespaces/{namespace}/tables/new").status_code == 404


# Headers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "",
        "not-a-uuid",
        "017f22e279b07cc398c4dc0c0c07398f",
        "{017f22e2-79b0-7cc3-98c4-dc0c0c07398f}",
        "urn:uuid:017f22e2-79b0-7cc3-98c4-dc0c0c07398f",
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398f0",
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398g",
        "x" * 10_000,
    ],
)
def test_an_idempotency_key_that_is_not_a_uuid_is_a_bad_request(
    http: httpx.Client, key: str
) -> None:
    name = f"idem_{uuid.uuid4().hex[:8]}"
    response = http.post(
        "/namespaces", json={"namespace": [name]}, headers={"Idempotency-Key": key}
    )
    assert_error(response, 400, "BadRequestException")
    assert http.head(f"/namespaces/{name}").status_code == 404


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonx",
    ],
)
def test_a_body_that_does_not_say_it_is_json_is_a_bad_request(
    catalog_server: CatalogServer, http: httpx.Client, content_type: str | None
) -> None:
    """The spec lists no 415 for any operation: a body that is not JSON is a bad request."""
    name = f"ct_{uuid.uuid4().hex[:8]}"
    headers = auth(catalog_server)
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = json.dumps({"namespace": [name]}).encode()
    response = send_raw(catalog_server, "POST", "/v1/default/namespaces", body, headers)
    assert_error(response, 400, "BadRequestException")
    assert http.head(f"/namespaces/{name}").status_code == 404


# Routes and methods ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/unknown",  # `/` itself redirects to the console (tests/console/test_serving.py)
        "/v1",
        "/v2/config",
        "/v1/default",
        "/v1/default/unknown",
        "/v1/default/namespaces/x/tables/t/plan/some-plan/extra",
        "/v1/default/namespaces/x/functions/f/extra",
        "/v1/default/namespaces/x/tables/t/extra/segments",
    ],
)
def test_unknown_routes_are_not_found(catalog_server: CatalogServer, target: str) -> None:
    response = send_raw(catalog_server, "GET", target, headers=auth(catalog_server))
    assert_error(response, 404, "NotFoundException")
    head = send_raw(catalog_server, "HEAD", target, headers=auth(catalog_server))
    assert head.status_code == 404
    assert head.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "target", "allowed"),
    [
        ("PUT", "/v1/default/namespaces", "GET, POST"),
        ("PATCH", "/v1/default/namespaces/x", "GET, HEAD, DELETE"),
        ("PUT", "/v1/default/namespaces/x/tables/t", "GET, HEAD, POST, DELETE"),
        ("DELETE", "/v1/config", "GET"),
        ("GET", "/v1/default/tables/rename", "POST"),
        ("GET", "/v1/default/transactions/commit", "POST"),
        ("TRACE", "/v1/default/namespaces", "GET, POST"),
        ("GET", "/v1/default/namespaces/x/tables/t/plan", "POST"),
        ("POST", "/v1/default/namespaces/x/functions", "GET"),
    ],
)
def test_a_method_the_route_does_not_serve_is_405_with_allow(
    catalog_server: CatalogServer, method: str, target: str, allowed: str
) -> None:
    response = send_raw(catalog_server, method, target, headers=auth(catalog_server))
    assert_error(response, 405, "MethodNotAllowedException")
    assert response.headers["allow"] == allowed
