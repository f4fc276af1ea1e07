"""Issue 13, finding 4: an integer outside its type's range bricked a table.

A snapshot id of 2**64 (or a schema id of 2**70) was accepted with 200, stored as a float, and
from then on every commit answered 500 and PyIceberg could not load the table; once the server
dropped the connection instead of answering. Now every integer field of a request is checked
against the spec's type (int: signed 32-bit, long: signed 64-bit; no float, bool or string in
its place) and refused with a 400 naming the field, and the store refuses any metadata document
with a float where Iceberg has an integer or an integer beyond 64 bits. The property-based test
at the end throws generated commit bodies at one server: never a 5xx, never a stored float, and
the table always loads and commits afterwards.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pyiceberg.catalog.rest import RestCatalog

from tests.support.error_model import assert_error
from tests.support.payloads import SCHEMA, create_table, set_properties, write_empty_manifest_list
from tests.support.server import CatalogServer

INT = (-(2**31), 2**31 - 1)
LONG = (-(2**63), 2**63 - 1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    started = CatalogServer(tmp_path_factory.mktemp("integer-ranges")).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def client(server: CatalogServer) -> Iterator[httpx.Client]:
    with server.rest_client() as opened:
        yield opened


@pytest.fixture(scope="module")
def pyiceberg(server: CatalogServer) -> RestCatalog:
    return RestCatalog("icefloe", uri=server.url, warehouse="default", token=server.token)


@pytest.fixture(scope="module")
def namespace(client: httpx.Client) -> str:
    name = f"ints_{uuid.uuid4().hex[:8]}"
    assert client.post("/namespaces", json={"namespace": [name]}).status_code == 200
    return name


def fresh_table(client: httpx.Client, namespace: str) -> tuple[str, str]:
    """A new table's name and location."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    created = create_table(client, namespace, name)
    location: str = created["metadata"]["location"]
    write_empty_manifest_list(f"{location}/metadata/snap-1.avro")  # what `snapshot` names
    return name, location


def local_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def strictly_typed(text: str | bytes) -> Any:
    """Decodes JSON, failing on any float and any integer beyond 64 bits: none of the
    documents these tests create has a float anywhere."""

    def no_float(token: str) -> float:
        raise AssertionError(f"a float in stored metadata: {token}")

    def in_range(token: str) -> int:
        value = int(token)
        assert LONG[0] <= value <= LONG[1], f"an integer beyond 64 bits: {token}"
        return value

    return json.loads(text, parse_float=no_float, parse_int=in_range)


class TableState:
    """What a refused request must leave exactly as it was: the pointer, the served metadata
    and its file, and the files in the metadata folder (no orphan left behind)."""

    def __init__(self, client: httpx.Client, namespace: str, name: str) -> None:
        loaded = client.get(f"/namespaces/{namespace}/tables/{name}")
        assert loaded.status_code == 200, loaded.text
        body = loaded.json()
        self.metadata_location: str = body["metadata-location"]
        self.metadata: Any = body["metadata"]
        path = local_path(self.metadata_location)
        self.file = path.read_bytes()
        self.folder = sorted(p.name for p in path.parent.iterdir())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableState) and vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]


def assert_healthy(client: httpx.Client, pyiceberg: RestCatalog, namespace: str, name: str) -> None:
    """The table loads (here and in PyIceberg), holds no float, and takes a valid commit."""
    loaded = client.get(f"/namespaces/{namespace}/tables/{name}")
    assert loaded.status_code == 200, loaded.text
    strictly_typed(loaded.content)
    strictly_typed(local_path(loaded.json()["metadata-location"]).read_bytes())
    pyiceberg.load_table((namespace, name))
    marker = uuid.uuid4().hex
    committed = client.post(
        f"/namespaces/{namespace}/tables/{name}", json={"updates": [set_properties(ok=marker)]}
    )
    assert committed.status_code == 200, committed.text
    assert committed.json()["metadata"]["properties"]["ok"] == marker
    assert pyiceberg.load_table((namespace, name)).properties["ok"] == marker


def snapshot(location: str, **fields: Any) -> dict[str, Any]:
    return {
        "action": "add-snapshot",
        "snapshot": {
            "snapshot-id": 1,
            "sequence-number": 1,
            "timestamp-ms": 1_700_000_000_000,
            "manifest-list": f"{location}/metadata/snap-1.avro",
            "summary": {"operation": "append"},
            **fields,
        },
    }


def schema(**fields: Any) -> dict[str, Any]:
    column = {"id": fields.pop("column_id", 3), "name": "extra", "type": "long", "required": False}
    return {
        "action": "add-schema",
        "schema": {**SCHEMA, "schema-id": 1, "fields": [*SCHEMA["fields"], column], **fields},
    }


# -- the reproduction ------------------------------------------------------------------------

CASES: list[tuple[str, Any, str]] = [
    ("snapshot id 2^64", lambda loc: [snapshot(loc, **{"snapshot-id": 2**64})], "snapshot-id"),
    ("schema id 2^70", lambda loc: [schema(**{"schema-id": 2**70})], "schema.schema-id"),
    (
        "negative huge sequence number",
        lambda loc: [snapshot(loc, **{"sequence-number": -(2**64)})],
        "snapshot.sequence-number",
    ),
    (
        "timestamp 2^64",
        lambda loc: [snapshot(loc, **{"timestamp-ms": 2**64})],
        "snapshot.timestamp-ms",
    ),
    (
        "long just past 2^63",
        lambda loc: [snapshot(loc, **{"snapshot-id": 2**63})],
        "snapshot.snapshot-id",
    ),
    ("1.5 for a field id", lambda loc: [schema(column_id=1.5)], "schema.fields[2].id"),
    ("1e3 for a schema id", lambda loc: [schema(**{"schema-id": 1e3})], "schema.schema-id"),
    (
        "true for a snapshot id",
        lambda loc: [
            snapshot(loc),
            {
                "action": "set-snapshot-ref",
                "ref-name": "main",
                "type": "branch",
                "snapshot-id": True,
            },
        ],
        "updates[1].snapshot-id",
    ),
    (
        "2^31 for a schema id",
        lambda loc: [{"action": "set-current-schema", "schema-id": 2**31}],
        "updates[0].schema-id",
    ),
    (
        "2^31 for a field id",
        lambda loc: [schema(column_id=2**31)],
        "schema.fields[2].id",
    ),
]


@pytest.mark.parametrize(
    ("updates", "field"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_out_of_range_or_non_integer_number_is_refused_and_table_unchanged(
    client: httpx.Client, pyiceberg: RestCatalog, namespace: str, updates: Any, field: str
) -> None:
    name, location = fresh_table(client, namespace)
    before = TableState(client, namespace, name)
    response = client.post(
        f"/namespaces/{namespace}/tables/{name}", json={"updates": updates(location)}
    )
    message = assert_error(response, 400, "BadRequestException")
    assert field in message, message
    assert TableState(client, namespace, name) == before
    assert_healthy(client, pyiceberg, namespace, name)


def test_create_table_with_a_huge_schema_id_is_refused_and_nothing_created(
    client: httpx.Client, namespace: str
) -> None:
    response = client.post(
        f"/namespaces/{namespace}/tables",
        json={"name": "huge_schema", "schema": {**SCHEMA, "schema-id": 2**70}},
    )
    assert "schema.schema-id" in assert_error(response, 400, "BadRequestException")
    assert client.get(f"/namespaces/{namespace}/tables/huge_schema").status_code == 404


def test_transaction_with_one_huge_snapshot_id_changes_no_table(
    client: httpx.Client, pyiceberg: RestCatalog, namespace: str
) -> None:
    (first, _), (second, location) = fresh_table(client, namespace), fresh_table(client, namespace)
    before = [TableState(client, namespace, t) for t in (first, second)]
    response = client.post(
        "/transactions/commit",
        json={
            "table-changes": [
                {
                    "identifier": {"namespace": [namespace], "name": first},
                    "updates": [set_properties(a="b")],
                },
                {
                    "identifier": {"namespace": [namespace], "name": second},
                    "updates": [snapshot(location, **{"snapshot-id": 2**64})],
                },
            ]
        },
    )
    message = assert_error(response, 400, "BadRequestException")
    assert "table-changes[1].updates[0].snapshot.snapshot-id" in message, message
    assert [TableState(client, namespace, t) for t in (first, second)] == before
    for table in (first, second):
        assert_healthy(client, pyiceberg, namespace, table)


def test_view_with_a_huge_timestamp_is_refused(client: httpx.Client, namespace: str) -> None:
    version = {
        "version-id": 1,
        "schema-id": 0,
        "timestamp-ms": 2**64,
        "summary": {"engine-name": "test"},
        "representations": [{"type": "sql", "sql": "SELECT 1", "dialect": "spark"}],
        "default-namespace": [namespace],
    }
    response = client.post(
        f"/namespaces/{namespace}/views",
        json={"name": "huge_view", "schema": SCHEMA, "view-version": version},
    )
    assert "view-version.timestamp-ms" in assert_error(response, 400, "BadRequestException")
    assert client.get(f"/namespaces/{namespace}/views/huge_view").status_code == 404


def test_registering_metadata_with_a_huge_snapshot_id_is_refused_by_the_store_guard(
    client: httpx.Client, pyiceberg: RestCatalog, namespace: str
) -> None:
    """A metadata file is no request body: written by another engine (or before this fix), it
    reaches the store through register, whose guard refuses it."""
    name, location = fresh_table(client, namespace)
    committed = client.post(
        f"/namespaces/{namespace}/tables/{name}",
        json={"updates": [snapshot(location, **{"snapshot-id": 424242})]},
    )
    assert committed.status_code == 200, committed.text
    good = local_path(committed.json()["metadata-location"])
    assert b"424242" in good.read_bytes()
    bad = good.with_name(f"99999-{uuid.uuid4()}.metadata.json")
    bad.write_bytes(good.read_bytes().replace(b"424242", str(2**64).encode()))
    assert client.delete(f"/namespaces/{namespace}/tables/{name}").status_code == 204

    def register(metadata: Path) -> httpx.Response:
        return client.post(
            f"/namespaces/{namespace}/register",
            json={"name": "registered", "metadata-location": metadata.as_uri()},
        )

    message = assert_error(register(bad), 400, "BadRequestException")
    assert "snapshots[0].snapshot-id" in message, message
    assert client.get(f"/namespaces/{namespace}/tables/registered").status_code == 404
    assert register(good).status_code == 200
    assert_healthy(client, pyiceberg, namespace, "registered")


def test_an_unexpected_server_error_answers_500_and_keeps_the_connection(
    server: CatalogServer, client: httpx.Client, namespace: str
) -> None:
    """Metadata stored before this fix, with a float for a snapshot id, does not parse: the
    commit is a 500, but the connection stays open for the client's next request (Starlette's
    outermost error handler raised the error again and uvicorn closed the connection)."""
    name, _ = fresh_table(client, namespace)
    with sqlite3.connect(server.data_dir / "catalog.db") as database:
        (text,) = database.execute(
            "SELECT metadata_json FROM catalog_objects WHERE name = ?", (name,)
        ).fetchone()
        stored = json.loads(text)
        stored["last-updated-ms"] = float(2**64)
        database.execute(
            "UPDATE catalog_objects SET metadata_json = ? WHERE name = ?",
            (json.dumps(stored), name),
        )
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {**server.auth_headers, "Content-Type": "application/json"}
    body = json.dumps({"updates": [set_properties(a="b")]})
    connection.request("POST", f"/v1/default/namespaces/{namespace}/tables/{name}", body, headers)
    failed = connection.getresponse()
    assert failed.status == 500
    assert json.loads(failed.read())["error"]["type"] == "InternalServerError"
    time.sleep(0.5)  # long enough for a closing server to have closed
    connection.request("GET", "/v1/config?warehouse=default", headers=server.auth_headers)
    assert connection.getresponse().status == 200
    connection.close()


# -- property-based: generated commit bodies -------------------------------------------------

Tagged = tuple[Any, bool]  # a value, and whether the spec forbids it where it stands


def number(bounds: tuple[int, int]) -> st.SearchStrategy[Tagged]:
    low, high = bounds
    good = st.one_of(
        st.integers(min_value=low, max_value=high), st.sampled_from([low, high, 0, -1, 1])
    )
    bad = st.one_of(
        st.integers(min_value=high + 1, max_value=2**80),
        st.integers(min_value=-(2**80), max_value=low - 1),
        st.sampled_from([2**64, -(2**64), 2**63, -(2**63) - 1, high + 1, low - 1, 2**70]),
        st.floats(),
        st.integers(min_value=-1000, max_value=1000).map(float),
        st.booleans(),
    )
    return st.one_of(good.map(lambda v: (v, False)), bad.map(lambda v: (v, True)))


@st.composite
def fields(draw: st.DrawFn, spec: dict[str, tuple[int, int]], optional: set[str]) -> Tagged:
    """An object of integer fields, some left out."""
    chosen: dict[str, Any] = {}
    bad = False
    for key, bounds in spec.items():
        if key in optional and not draw(st.booleans()):
            continue
        value, wrong = draw(number(bounds))
        chosen[key] = value
        bad = bad or wrong
    return chosen, bad


@st.composite
def update(draw: st.DrawFn, location: str) -> Tagged:
    kind = draw(
        st.sampled_from(
            ["add-snapshot", "set-snapshot-ref", "add-schema", "set-properties", "set-statistics"]
        )
    )
    if kind == "add-snapshot":
        numbers, bad = draw(
            fields(
                {
                    "snapshot-id": LONG,
                    "parent-snapshot-id": LONG,
                    "sequence-number": LONG,
                    "timestamp-ms": LONG,
                    "schema-id": INT,
                },
                {"parent-snapshot-id", "schema-id"},
            )
        )
        body = {
            "manifest-list": f"{location}/metadata/snap-1.avro",  # written by fresh_table
            "summary": {"operation": "append"},
            **numbers,
        }
        return {"action": "add-snapshot", "snapshot": body}, bad
    if kind == "set-snapshot-ref":
        numbers, bad = draw(
            fields(
                {
                    "snapshot-id": LONG,
                    "max-ref-age-ms": LONG,
                    "max-snapshot-age-ms": LONG,
                    "min-snapshots-to-keep": INT,
                },
                {"max-ref-age-ms", "max-snapshot-age-ms", "min-snapshots-to-keep"},
            )
        )
        ref = draw(st.sampled_from(["main", "audit"]))
        return {"action": "set-snapshot-ref", "ref-name": ref, "type": "branch", **numbers}, bad
    if kind == "add-schema":
        (schema_id, bad_schema), (column_id, bad_column) = draw(number(INT)), draw(number(INT))
        column = {"id": column_id, "name": "extra", "type": "long", "required": False}
        added = {**SCHEMA, "schema-id": schema_id, "fields": [*SCHEMA["fields"], column]}
        return {"action": "add-schema", "schema": added}, bad_schema or bad_column
    if kind == "set-properties":
        # Keys that are integer field names elsewhere, with numeric-looking string values: a
        # property map is no place for the integer rules.
        values = st.sampled_from([str(2**64), "1.5", "true", "-9223372036854775809", "x"])
        keys = st.sampled_from(["snapshot-id", "schema-id", "timestamp-ms", "owner"])
        return {"action": "set-properties", "updates": draw(st.dictionaries(keys, values))}, False
    statistics, bad = draw(
        fields(
            {"snapshot-id": LONG, "file-size-in-bytes": LONG, "file-footer-size-in-bytes": LONG},
            set(),
        )
    )
    blob, bad_blob = draw(fields({"snapshot-id": LONG, "sequence-number": LONG}, set()))
    (field, bad_field) = draw(number(INT))
    statistics["statistics-path"] = f"{location}/metadata/stats-{uuid.uuid4().hex}.puffin"
    statistics["blob-metadata"] = [
        {"type": "apache-datasketches-theta-v1", "fields": [field], **blob}
    ]
    return {"action": "set-statistics", "statistics": statistics}, bad or bad_blob or bad_field


@st.composite
def commit_body(draw: st.DrawFn, location: str) -> Tagged:
    updates = draw(st.lists(update(location), min_size=1, max_size=4))
    return [u for u, _ in updates], any(bad for _, bad in updates)


PLACEHOLDER = "file:///placeholder-table-location"


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(generated=commit_body(PLACEHOLDER), as_transaction=st.booleans())
def test_generated_commit_bodies_never_brick_a_table(
    client: httpx.Client,
    pyiceberg: RestCatalog,
    namespace: str,
    generated: Tagged,
    as_transaction: bool,
) -> None:
    """Never a 5xx; a body with a wrong number anywhere is a 400 that changes nothing; what is
    accepted is stored without a float or an integer beyond 64 bits; the table always loads in
    PyIceberg and takes a valid commit afterwards."""
    name, location = fresh_table(client, namespace)
    updates = json.loads(json.dumps(generated[0]).replace(PLACEHOLDER, location))
    before = TableState(client, namespace, name)
    if as_transaction:
        change = {"identifier": {"namespace": [namespace], "name": name}, "updates": updates}
        path, body = "/transactions/commit", {"table-changes": [change]}
    else:
        path, body = f"/namespaces/{namespace}/tables/{name}", {"updates": updates}
    # As Python writes it: NaN and Infinity too, which httpx's encoder refuses to send.
    response = client.post(
        path, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code < 500, response.text
    event(f"{'wrong number' if generated[1] else 'valid numbers'}: {response.status_code}")
    if generated[1]:
        assert_error(response, 400, "BadRequestException")
    if response.status_code >= 400:
        assert_error(response, response.status_code)
        assert TableState(client, namespace, name) == before
    assert_healthy(client, pyiceberg, namespace, name)


@pytest.mark.parametrize("before", [2**70, -(2**70)])
def test_audit_listing_with_an_id_beyond_64_bits_is_a_bad_request(
    server: CatalogServer, before: int
) -> None:
    """The one integer query parameter without bounds: SQLite could not bind it (a 500)."""
    response = httpx.get(
        f"{server.url}/admin/v1/audit", params={"before": before}, headers=server.auth_headers
    )
    assert_error(response, 400, "BadRequestException")
