"""Three smaller holes of issue 13, each against a real server with the embedded store.

- Logs: whatever a client puts in a URL or a header, no log line is split or forged, and no raw
  control or separator character reaches the log.
- Names: a new namespace, table or view name has no invisible or reordering character and is
  NFC, so one name cannot pass for another.
- Remote signing: the signer reads a request as the store does, and signs exactly what the
  store would let a credential confined to the table do.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import quote, urlsplit

import httpx
import pytest

from catalog.exceptions import BadRequest, Forbidden
from catalog.logging import JsonFormatter
from catalog.service.signing import check_scope, parse_request, payload_hash, sign
from storage.logsafe import EscapingFormatter
from storage.s3 import errors as s3_errors
from storage.s3.auth import Principal
from storage.s3.authz import authorize
from storage.s3.config import DEFAULT_VIRTUAL_HOST_DOMAINS
from storage.s3.credentials import SessionGrant
from storage.s3.request import S3Request
from storage.s3.scope import request_scope
from tests.integration.test_hostile_input import view_body
from tests.support.error_model import assert_error
from tests.support.payloads import SCHEMA, create_table
from tests.support.raw_http import send_raw
from tests.support.server import CatalogServer

LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ ")
RAW_BREAKERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202e\u200b\ufeff]")
FORGED = "00:00:00 INFO icefloe.access event=request method=GET path=/forged status=200"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    """The embedded store (for signing) and INFO logs (for the access log)."""
    started = CatalogServer(
        tmp_path_factory.mktemp("log-names-signer"),
        storage="embedded",
        env={"ICEFLOE_LOG_LEVEL": "INFO"},
    ).start()
    yield started
    started.stop()


@pytest.fixture
def http(server: CatalogServer) -> Iterator[httpx.Client]:
    with server.rest_client() as client:
        yield client


@pytest.fixture
def namespace(http: httpx.Client) -> str:
    name = f"ns_{uuid.uuid4().hex[:10]}"
    assert http.post("/namespaces", json={"namespace": [name]}).status_code == 200
    return name


def writer_token(server: CatalogServer, namespace: str) -> str:
    """The attacker of issue 13: may write, but only in one namespace."""
    response = httpx.post(
        f"{server.url}/admin/v1/tokens",
        json={
            "name": f"w-{namespace}",
            "permission": "read-write",
            "warehouses": ["default"],
            "namespaces": [[namespace]],
        },
        headers=server.auth_headers,
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


# --- Logs -----------------------------------------------------------------------------------


def new_log_lines(server: CatalogServer, offset: int, markers: list[str]) -> list[str]:
    """The whole lines logged since `offset`, once every marker is in them (the access log
    line is written after the answer is sent, and a read may catch one half written). Split on
    '\\n' only: other breakers must show up raw."""
    whole = server.logged_with(*markers, since=offset)
    return [line for line in whole.split("\n") if line]


@pytest.mark.parametrize(
    ("escape", "shown"),
    [("%0a", "\\n"), ("%0d", "\\r"), ("%1b", "\\x1b"), ("%e2%80%a8", "\\u2028")],
)
def test_a_control_character_in_an_unauthenticated_url_cannot_forge_a_log_line(
    server: CatalogServer, escape: str, shown: str
) -> None:
    marker = uuid.uuid4().hex
    forged = quote(FORGED, safe="/=")
    offset = server.log_path.stat().st_size
    targets = [
        f"/v1/default/namespaces/{marker}a{escape}{forged}",  # the catalog API, no token
        f"/v1/config?warehouse={marker}b{escape}{forged}",
    ]
    for target in targets:
        send_raw(server, "GET", target)
    s3 = send_raw(server, "GET", f"/{marker}c{escape}{forged}/key", port=server.s3_port)
    assert s3.status_code in (400, 403)
    markers = [f"{marker}a", f"{marker}c"]
    lines = new_log_lines(server, offset, markers)

    for line in lines:
        assert LOG_LINE.match(line), line
        assert not RAW_BREAKERS.search(line), repr(line)
        assert not line.startswith("00:00:00"), line
    for tag in markers:
        (line,) = [line for line in lines if tag in line]
        assert f"{tag}{shown}{FORGED.split(' ')[0]}" in line, line


def test_control_characters_in_headers_are_escaped_in_the_log(server: CatalogServer) -> None:
    """X-Request-Id is logged as sent. Latin-1 bytes 0x80-0x9F are C1 controls (0x85 is NEL, a
    line break to Python's splitlines); UTF-8 U+2028 arrives as bytes E2 80 A8."""
    marker = uuid.uuid4().hex
    offset = server.log_path.stat().st_size
    sent = {
        f"{marker}1": f"{marker}1\x85{FORGED}",
        f"{marker}2": f"{marker}2\xe2\x80\xa8{FORGED}",
        f"{marker}3": f"{marker}3%0a%0d%1b{FORGED}",
    }
    statuses = [
        send_raw(server, "GET", "/v1/config", headers={"X-Request-Id": value}).status_code
        for value in sent.values()
    ]
    assert all(status in (400, 401) for status in statuses), statuses
    lines = new_log_lines(server, offset, list(sent))
    for line in lines:
        assert LOG_LINE.match(line), line
        assert not RAW_BREAKERS.search(line), repr(line)
    logged = "\n".join(lines)
    assert f"{marker}1\\x85{FORGED}" in logged
    assert f"{marker}2\u00e2\\x80\u00a8{FORGED}" in logged
    assert f"{marker}3%0a%0d%1b{FORGED}" in logged


def test_escaping_covers_every_breaker_and_json_logs_escape_them_too() -> None:
    """The formatters themselves: the console one escapes each breaker, a traceback included
    (one event, one line), and the JSON one leaves no raw breaker either."""
    text = "a\nb\rc\x1bd\x7fe\x85f\u2028g\u2029h\u202ei\u200bj\ufeffk caf\u00e9 \u6f22"
    record = logging.LogRecord("icefloe.t", logging.INFO, __file__, 1, "x=%s", (text,), None)
    try:
        raise ValueError(f"bad {text}")
    except ValueError:
        failed = logging.LogRecord(
            "icefloe.t", logging.ERROR, __file__, 1, "x=%s", (text,), sys.exc_info()
        )
    console = EscapingFormatter("%(levelname)s %(message)s")
    line = console.format(record)
    assert line == (
        "INFO x=a\\nb\\rc\\x1bd\\x7fe\\x85f\\u2028g\\u2029h\\u202ei\\u200bj\\ufeffk"
        " caf\u00e9 \u6f22"
    )
    for formatted in (console.format(failed), JsonFormatter().format(failed)):
        assert "\n" not in formatted
        assert not RAW_BREAKERS.search(formatted), formatted
    assert "Traceback" in console.format(failed)


# --- Names ----------------------------------------------------------------------------------

AMBIGUOUS = {
    "U+202E": "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "U+200B": "\u200b",  # ZERO WIDTH SPACE
    "U+FEFF": "\ufeff",  # ZERO WIDTH NO-BREAK SPACE (BOM)
    "U+2028": "\u2028",  # LINE SEPARATOR
}


@pytest.mark.parametrize(("code", "char"), list(AMBIGUOUS.items()))
def test_names_with_invisible_or_reordering_characters_are_refused(
    server: CatalogServer, http: httpx.Client, namespace: str, code: str, char: str
) -> None:
    name = f"or{char}ders"
    headers = {"Authorization": f"Bearer {writer_token(server, namespace)}"}
    tables = f"/namespaces/{namespace}/tables"
    views = f"/namespaces/{namespace}/views"
    create_table(http, namespace, "t")
    assert http.post(views, json=view_body(namespace, "v")).status_code == 200
    location = http.get(f"{tables}/t").json()["metadata-location"]
    rename = {
        "source": {"namespace": [namespace], "name": "t"},
        "destination": {"namespace": [namespace], "name": name},
    }
    rename_view = {
        "source": {"namespace": [namespace], "name": "v"},
        "destination": {"namespace": [namespace], "name": name},
    }
    for refused in [
        http.post("/namespaces", json={"namespace": [name]}),
        http.post("/namespaces", json={"namespace": [namespace, name]}),
        http.post(tables, json={"name": name, "schema": SCHEMA}, headers=headers),
        http.post(views, json=view_body(namespace, name), headers=headers),
        http.post("/tables/rename", json=rename, headers=headers),
        http.post("/views/rename", json=rename_view, headers=headers),
        http.post(
            f"/namespaces/{namespace}/register",
            json={"name": name, "metadata-location": location},
            headers=headers,
        ),
    ]:
        assert_error(refused, 400, "BadRequestException")
        assert code in refused.json()["error"]["message"], refused.text
    assert http.get(tables).json()["identifiers"] == [{"namespace": [namespace], "name": "t"}]
    assert http.get(views).json()["identifiers"] == [{"namespace": [namespace], "name": "v"}]
    assert [namespace, name] not in http.get("/namespaces").json()["namespaces"]


def test_a_name_that_is_not_nfc_is_refused_and_its_nfc_form_is_accepted(
    server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    """`café` with a combining accent (e + U+0301) looks like `café` with U+00E9 but is other
    bytes: refused, not normalised, so the name stored is the one sent."""
    decomposed, composed = "cafe\u0301", "caf\u00e9"
    headers = {"Authorization": f"Bearer {writer_token(server, namespace)}"}
    tables = f"/namespaces/{namespace}/tables"
    views = f"/namespaces/{namespace}/views"
    for refused in [
        http.post("/namespaces", json={"namespace": [decomposed]}),
        http.post(tables, json={"name": decomposed, "schema": SCHEMA}, headers=headers),
        http.post(views, json=view_body(namespace, decomposed), headers=headers),
    ]:
        assert_error(refused, 400, "BadRequestException")
        assert "NFC" in refused.json()["error"]["message"]
    created = http.post(tables, json={"name": composed, "schema": SCHEMA}, headers=headers)
    assert created.status_code == 200, created.text
    assert http.get(tables).json()["identifiers"] == [{"namespace": [namespace], "name": composed}]


# --- Remote signing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One S3 request against table `tbl`, with `{T}` its folder, `{O}` a sibling table's
    folder, `{S3}` the store's URL and `{HOST}`/`{PORT}` its parts."""

    name: str
    method: str
    url: str
    inside: bool
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


def delete_body(*keys: str) -> str:
    objects = "".join(f"<Object><Key>{key}</Key></Object>" for key in keys)
    return f"<Delete>{objects}</Delete>"


CASES = [
    Case("get in the table", "GET", "{S3}/default/{T}/data/x", True),
    Case("get with a . segment", "GET", "{S3}/default/{T}/./data/x", False),
    Case("get with an encoded .. segment", "GET", "{S3}/default/{T}/%2E%2E/{O}/x", False),
    Case("get with an encoded slash", "GET", "{S3}/default/{T}/data%2Fx", True),
    Case("list the table", "GET", "{S3}/default?list-type=2&prefix={T}/", True),
    Case(
        "list with a delimiter",
        "GET",
        "{S3}/default?list-type=2&prefix={T}/data/&delimiter=/",
        True,
    ),
    Case("list without a prefix", "GET", "{S3}/default?list-type=2&delimiter=/", False),
    Case(
        "list outside, then inside",
        "GET",
        "{S3}/default?list-type=2&prefix={O}/&prefix={T}/",
        False,
    ),
    Case(
        "list inside, then outside",
        "GET",
        "{S3}/default?list-type=2&prefix={T}/&prefix={O}/",
        False,
    ),
    Case("list with a .. prefix", "GET", "{S3}/default?list-type=2&prefix={T}/../{O}/", False),
    Case("list with a . prefix", "GET", "{S3}/default?list-type=2&prefix={T}/./data/", False),
    Case("list uploads outside", "GET", "{S3}/default?uploads&prefix={O}/", False),
    Case("list uploads inside", "GET", "{S3}/default?uploads&prefix={T}/", True),
    Case("delete keys inside", "POST", "{S3}/default?delete", True, body=delete_body("{T}/d/a")),
    Case(
        "delete a key through ..",
        "POST",
        "{S3}/default?delete",
        False,
        body=delete_body("{T}/d/a", "{T}/../{O}/d/b"),
    ),
    Case("delete a key outside", "POST", "{S3}/default?delete", False, body=delete_body("{O}/x")),
    Case(
        "copy from inside",
        "PUT",
        "{S3}/default/{T}/data/copy",
        True,
        headers={"x-amz-copy-source": "/default/{T}/data/x"},
    ),
    Case(
        "copy from another table",
        "PUT",
        "{S3}/default/{T}/data/copy",
        False,
        headers={"x-amz-copy-source": "/default/{O}/data/x"},
    ),
    Case(
        "copy from .. out of the table",
        "PUT",
        "{S3}/default/{T}/data/copy",
        False,
        headers={"x-amz-copy-source": "default/{T}/..%2F{O}/data/x"},
    ),
    Case(
        "upload a part copied from another table",
        "PUT",
        "{S3}/default/{T}/data/copy?partNumber=1&uploadId=u",
        False,
        headers={"x-amz-copy-source": "/default/{O}/data/x"},
    ),
    Case("virtual host, inside", "GET", "http://default.localhost:{PORT}/{T}/data/x", True),
    Case(
        # Not a virtual host to the store: path style, so the bucket is the path's first segment.
        "a host the store reads as path style",
        "GET",
        "http://default.example.com:{PORT}/{T}/data/x",
        False,
    ),
]


class Store(Protocol):
    """Where the store listens: a running server's, or a made-up one for offline checks."""

    @property
    def s3_url(self) -> str: ...

    @property
    def s3_port(self) -> int: ...


def fill(text: str, server: Store, folder: str, other: str) -> str:
    return (
        text.replace("{S3}", server.s3_url)
        .replace("{PORT}", str(server.s3_port))
        .replace("{T}", folder)
        .replace("{O}", other)
    )


@dataclass(frozen=True)
class Tables:
    namespace: str
    folder: str
    other: str
    token: str


@pytest.fixture(scope="module")
def tables(server: CatalogServer) -> Tables:
    """`tbl` in the writer's namespace; `other`, the victim, in a namespace it may not touch."""
    namespace, victim = f"sig_{uuid.uuid4().hex[:8]}", f"victim_{uuid.uuid4().hex[:8]}"
    with httpx.Client(
        base_url=f"{server.url}/v1/default", headers=server.auth_headers, timeout=30
    ) as admin:
        folders = []
        for ns, name in ((namespace, "tbl"), (victim, "other")):
            assert admin.post("/namespaces", json={"namespace": [ns]}).status_code == 200
            location = create_table(admin, ns, name)["metadata"]["location"]
            assert location.startswith("s3://default/")
            folders.append(location.removeprefix("s3://default/").rstrip("/"))
    return Tables(namespace, folders[0], folders[1], writer_token(server, namespace))


def ask_signer(server: CatalogServer, tables: Tables, case: Case) -> httpx.Response:
    body = fill(case.body, server, tables.folder, tables.other) if case.body else None
    headers = {k: [fill(v, server, tables.folder, tables.other)] for k, v in case.headers.items()}
    return httpx.post(
        f"{server.url}/v1/default/namespaces/{tables.namespace}/tables/tbl/sign",
        json={
            "region": "auto",
            "uri": fill(case.url, server, tables.folder, tables.other),
            "method": case.method,
            "headers": headers,
            **({"body": body} if body is not None else {}),
        },
        headers={"Authorization": f"Bearer {tables.token}"},
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_signer_signs_only_what_stays_in_the_table(
    server: CatalogServer, tables: Tables, case: Case
) -> None:
    response = ask_signer(server, tables, case)
    if case.inside:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code in (400, 403), response.text
        assert_error(response, response.status_code)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_store_with_the_tables_credential_agrees_with_the_signer(
    server: CatalogServer, tables: Tables, case: Case
) -> None:
    """Each request, signed directly with a credential vended for the table (no catalog check
    in the way), is refused by the store exactly when the signer refuses it."""
    credential = httpx.get(
        f"{server.url}/v1/default/namespaces/{tables.namespace}/tables/tbl/credentials",
        headers={"Authorization": f"Bearer {tables.token}"},
    ).json()["storage-credentials"][0]["config"]
    url = fill(case.url, server, tables.folder, tables.other)
    body = fill(case.body, server, tables.folder, tables.other).encode() if case.body else b""
    headers = {k: fill(v, server, tables.folder, tables.other) for k, v in case.headers.items()}
    headers["x-amz-content-sha256"] = payload_hash(body)
    signed = sign(
        case.method,
        url,
        {"x-amz-content-sha256": [headers["x-amz-content-sha256"]]},
        "auto",
        credential["s3.access-key-id"],
        credential["s3.secret-access-key"],
        credential["s3.session-token"],
    )
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    answer = send_raw(
        server,
        case.method,
        target,
        body=body if case.body else None,
        headers={
            "Host": parts.netloc,
            **headers,
            **{name: ", ".join(values) for name, values in signed.items()},
        },
        port=server.s3_port,
    )
    found = re.search(rb"<Code>(\w+)</Code>", answer.body)
    code = found.group(1).decode() if found else None
    assert code != "SignatureDoesNotMatch", answer.body
    store_refuses = code in ("AccessDenied", "InvalidArgument")
    signer_refuses = ask_signer(server, tables, case).status_code != 200
    assert store_refuses == signer_refuses == (not case.inside), (answer.status_code, answer.body)


def test_a_signed_delete_covers_its_body_and_no_other(
    server: CatalogServer, tables: Tables
) -> None:
    """DeleteObjects names its keys in the body: the signature covers the body's hash, so the
    body checked is the body sent (PyIceberg's signer leaves the payload unsigned)."""
    body = delete_body(f"{tables.folder}/d/a")
    case = Case("delete", "POST", "{S3}/default?delete", True, body=body)
    response = ask_signer(server, tables, case)
    assert response.status_code == 200, response.text
    assert response.json()["headers"]["x-amz-content-sha256"] == [payload_hash(body.encode())]
    unsigned = httpx.post(
        f"{server.url}/v1/default/namespaces/{tables.namespace}/tables/tbl/sign",
        json={
            "region": "auto",
            "uri": f"{server.s3_url}/default?delete",
            "method": "POST",
            "headers": {"x-amz-content-sha256": ["UNSIGNED-PAYLOAD"]},
            "body": body,
        },
        headers={"Authorization": f"Bearer {tables.token}"},
    )
    assert_error(unsigned, 403, "ForbiddenException")


def test_the_signer_protocol_route_reads_the_request_as_the_store_does(
    server: CatalogServer, tables: Tables
) -> None:
    """/v1/aws/s3/sign finds the table by the request's object, then checks all of it."""

    def legacy(case: Case) -> httpx.Response:
        headers = {
            k: [fill(v, server, tables.folder, tables.other)] for k, v in case.headers.items()
        }
        return httpx.post(
            f"{server.url}/v1/aws/s3/sign",
            json={
                "region": "auto",
                "uri": fill(case.url, server, tables.folder, tables.other),
                "method": case.method,
                "headers": headers,
            },
            headers={"Authorization": f"Bearer {tables.token}"},
        )

    for case in CASES:
        if case.body is None:
            answer = legacy(case)
            assert (answer.status_code == 200) == case.inside, (case.name, answer.text)


# --- The signer and the store, side by side, without a server ------------------------------


def store_refuses(case: Case, folder: str, other: str) -> bool:
    """What the store decides for a credential confined to `folder`: the request as uvicorn
    hands it to the store's ASGI app, read and authorised by the store's own code."""
    url = fill(case.url, _OFFLINE, folder, other)
    parts = urlsplit(url)
    headers = [(b"host", parts.netloc.encode())]
    headers += [
        (k.encode(), fill(v, _OFFLINE, folder, other).encode()) for k, v in case.headers.items()
    ]
    scope = {
        "type": "http",
        "method": case.method,
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "headers": headers,
    }
    grant = SessionGrant(
        bucket="default",
        prefixes=(folder + "/",),
        permission="object-read-write",
        access_key_id="k",
        expiration=datetime.now(UTC) + timedelta(hours=1),
    )
    body = fill(case.body, _OFFLINE, folder, other).encode() if case.body else None
    try:
        request = S3Request.from_scope(scope, _no_receive, DEFAULT_VIRTUAL_HOST_DOMAINS)
        authorize(Principal("k", grant), request_scope(request, body).touches)
    except (s3_errors.AccessDenied, s3_errors.InvalidArgument):
        return True
    return False


def signer_refuses(case: Case, folder: str, other: str) -> bool:
    body = fill(case.body, _OFFLINE, folder, other) if case.body else None
    headers = {k: [fill(v, _OFFLINE, folder, other)] for k, v in case.headers.items()}
    try:
        scope = parse_request(
            case.method,
            fill(case.url, _OFFLINE, folder, other),
            headers,
            body,
            {"type": "embedded"},
        )
        check_scope(case.method, scope, f"s3://default/{folder}", may_write=True)
    except (BadRequest, Forbidden):
        return True
    return False


@dataclass(frozen=True)
class _Offline:
    s3_url: str = "http://127.0.0.1:9000"
    s3_port: int = 9000


_OFFLINE = _Offline()


async def _no_receive() -> dict[str, object]:
    raise AssertionError("the body is never read to authorise")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_signer_and_store_classify_every_request_alike(case: Case) -> None:
    folder, other = "wh/ns/tbl", "wh/ns/other"
    assert signer_refuses(case, folder, other) == store_refuses(case, folder, other)
    assert signer_refuses(case, folder, other) == (not case.inside)
