"""updateTable for the common case, answered before FastAPI's router.

Every write an engine makes ends with a commit. Through FastAPI a commit paid, before any of
its own work, for route matching over every route, solving `authorize` and the route's
dependencies (with their cache keys and parameter kinds) and the body's validation around it:
~1 ms of event-loop CPU per commit (docs/performance.md). This layer answers the plain
`POST /v1/{prefix}/namespaces/{namespace}/tables/{table}` with the same pieces the route uses,
in one worker-thread hop: the same `Authenticator` and token cache (`fast.authenticated`), the
same name checks (`parse_namespace_path`, `check_object_name`), the same body model
(`CommitTableRequest`, validated as FastAPI validates it: the JSON decoded by `json.loads`,
then the model in Python mode), the same decision (`security.refusal` over `POLICY`), the same
audit record (`security.audit_target`, written in the commit's transaction) and the same
`TableService.commit`, whose errors are answered by `errors.error_response` as the route's
exception handler answers them (the refusal's audit record is then written by the access
layer, as for the full path).

Whatever it does not fully understand goes to FastAPI unchanged, with the body it read given
back: a query string, an `Idempotency-Key` (its replay and fingerprint rules live with the
routes), a content type other than JSON, a header sent twice, a body that does not parse or
validate, a name that does not validate, a caller unknown or refused. Only the commit's own
outcome is answered here, success or error: by then the request is exactly one the route would
have committed.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog.api.errors import error_response
from catalog.api.fast import Answer, authenticated, headers, path_parts
from catalog.api.middleware import audit_in_change, audit_written
from catalog.api.responses import json_bytes
from catalog.api.security import Authenticator, audit_target, refusal
from catalog.auth.policy import POLICY
from catalog.exceptions import CatalogError
from catalog.protocol import CommitTableRequest
from catalog.service.identifiers import check_object_name, parse_namespace_path
from catalog.service.tables import TableService

log = logging.getLogger("icefloe.api")

OPERATION: Final = "updateTable"
UPDATE_TABLE = POLICY[OPERATION]
_HEADERS = frozenset((b"authorization", b"content-type", b"idempotency-key"))
# The hop to the commit's worker thread, through the loop's executor interface as the read
# paths hop (`fast.on_a_thread`: Starlette's `run_in_threadpool` cost twice the CPU), to a pool
# of the commits' own: a commit waits on fsyncs and on the database's write lock, and must not
# hold up the threads the read paths answer on. Its size is anyio's default, which the
# commits had before.
THREADS: Final = ThreadPoolExecutor(max_workers=40, thread_name_prefix="icefloe-commit")


@dataclass(frozen=True, slots=True)
class _Request:
    prefix: str
    namespace: str
    table: str
    path: str
    authorization: str | None


class CommitFastPath:
    """updateTable (POST) on `/v1/{prefix}/namespaces/{namespace}/tables/{table}` in its plain
    form. Called by `RequestContextMiddleware` (through `fast.FastPaths`) inside the request
    context: the body cap, the audit of a refusal and the error handling are the full path's."""

    def __init__(self, authenticator: Authenticator, tables: TableService) -> None:
        self.authenticator = authenticator
        self.tables = tables

    async def handle(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        """Answer the request, or hand it to `app` (FastAPI) with its body given back."""
        request = _plain_request(scope)
        if request is None:
            await app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        answer = None
        if body is not None:
            context = contextvars.copy_context()
            answer = await asyncio.get_running_loop().run_in_executor(
                THREADS, context.run, self.answer, scope, request, body
            )
        if answer is None:
            await app(scope, _replaying(messages, receive), send)
            return
        state = scope.setdefault("state", {})
        state["via"] = "fast"
        state["operation"] = OPERATION
        start = {"type": "http.response.start", "status": answer.status}
        await send({**start, "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})

    def answer(self, scope: Scope, request: _Request, body: bytes) -> Answer | None:
        """The commit's outcome, or None for the full path to answer (before anything was
        written). Runs on a worker thread: the commit writes and fsyncs a file."""
        try:
            namespace = parse_namespace_path(request.namespace)
            check_object_name(request.table)
        except CatalogError:
            return None
        change = _commit_request(body)
        if change is None:
            return None
        principal = authenticated(self.authenticator, request.authorization)
        if principal is None or not UPDATE_TABLE.audited:
            return None
        if refusal(principal, UPDATE_TABLE, request.prefix, [namespace]) is not None:
            return None
        target = audit_target(request.prefix, [namespace], request.table, request.path)
        scope.setdefault("state", {})["audit"] = (principal.id, OPERATION, target)
        try:
            result = self.tables.commit(
                request.prefix,
                namespace,
                request.table,
                change,
                None,
                placer=principal,
                audit=audit_in_change(scope, 200),
            )
        except CatalogError as error:
            # As `errors._catalog_error` answers it (no Idempotency-Key: nothing to store);
            # the audit entry stays pending, for the access layer to record the refusal.
            if error.status >= 500:
                log.warning("event=server_error type=%s message=%s", error.wire_type, error.message)
            return _answer(error_response(error.status, error.message, error.wire_type))
        audit_written(scope)
        return _answer(json_bytes(result))


def _answer(response: Response) -> Answer:
    """The route's own `Response`, as the bytes and headers Starlette would send."""
    return Answer(response.status_code, list(response.raw_headers), bytes(response.body))


def _commit_request(body: bytes) -> CommitTableRequest | None:
    """The body as the route's model, or None when FastAPI should say what is wrong with it."""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return None
    try:
        return CommitTableRequest.model_validate(decoded)
    except (ValidationError, RecursionError):
        return None


def _plain_request(scope: Scope) -> _Request | None:
    """The request, if it is one this layer may answer: the route's own path, no query, no
    Idempotency-Key, a JSON body (or one without a content type, which FastAPI reads as JSON
    too), each header it reads at most once."""
    parts = path_parts(scope, "POST", 5)
    if parts is None or parts[1] != "namespaces" or parts[3] != "tables":
        return None
    if scope.get("query_string"):
        return None
    found = headers(scope, _HEADERS)
    if found is None or b"idempotency-key" in found:
        return None
    content_type = found.get(b"content-type")
    if content_type is not None and (
        content_type.split(";", 1)[0].strip().lower() != "application/json"
    ):
        return None
    return _Request(parts[0], parts[2], parts[4], scope["path"], found.get(b"authorization"))


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """Every message of the request's body, and the body: None when the client went away
    before sending all of it (the full path then sees what it would have seen)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replaying(messages: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    """`receive` for the full path: the messages already read, then the client's own."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
