"""Plain ASGI middleware: a request id and one structured log line per request, a cap on
request bodies (a 10 MB JSON body is refused before it is parsed, not after), and no URL that
is not UTF-8 once percent-decoded. Every request, loadTable's fast path included, passes here:
so this is where requests are counted and timed by operation, and where a trace starts."""

from __future__ import annotations

import logging
import os
import time
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog.api.answers import Kept, Key, request_key
from catalog.api.errors import error_body
from catalog.api.fast import FastPath, FastPaths
from catalog.logging import line_writer
from catalog.observability import metrics, tracing
from catalog.observability.tracing import RequestSpan
from catalog.service.audit import AuditEntry

log = logging.getLogger("icefloe.access")
errors_log = logging.getLogger("icefloe.api")


class RequestContextMiddleware:
    """The request context, and the fast paths inside it (`fast`): one ASGI layer, in which a
    read the fast paths answer is sent directly, with the id header, without the wrapped
    `receive` and `send` the full path (and the commit answerer) is given."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, fast: FastPaths | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.fast = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self._serve(
            scope, receive, send, None if self.fast is None else self.fast.read(scope)
        )

    async def in_front(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Serve an HTTP request here if it is one the fast paths read (it then gets all this
        layer gives it, as through `__call__`), called before FastAPI's own outer layers; False,
        having done nothing, for any other request. On SQLite an answer given before and still
        current (`answers.AnswerCache`) is sent again as it was, with a request id, metrics and
        access line of its own."""
        fast = self.fast
        answerer = None if fast is None else fast.reader(scope)
        if fast is None or answerer is None:
            return False
        key = None
        if fast.answers is not None:
            started = time.perf_counter()
            key = request_key(scope)
            kept = fast.answers.get(key)
            if kept is not None:
                await _send_kept(scope, send, kept, started)
                return True
        request = answerer.match(scope)
        if request is None:
            return False
        await self._serve(scope, receive, send, (answerer, request), key)
        return True

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        read: tuple[FastPath[Any], Any] | None,
        key: Key | None = None,
    ) -> None:
        started = time.perf_counter()
        traced = tracing.request_span(scope)
        request_id = _request_id(scope, traced)
        scope.setdefault("state", {})["request_id"] = request_id
        if not _url_is_utf8(scope):
            await _refuse(send, request_id, 400, "The request URL is not UTF-8 once %-decoded")
            _finish(scope, 400, started, request_id, traced)
            return
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _reject(send, request_id, self.max_body_bytes)
            _finish(scope, 413, started, request_id, traced)
            return
        fast = self.fast
        if read is not None:
            answered = await self._fast_read(scope, send, read, request_id, key)
            if answered is not None:
                _finish(scope, answered, started, request_id, traced)
                return
        status = 500
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        status_sent = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status = message["status"]
                status_sent = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            if fast is not None and fast.is_commit(scope):
                await fast.commit.handle(scope, limited_receive, send_with_id, self.app)
            else:
                await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            status = 413
            await _reject(send, request_id, self.max_body_bytes)
        except Exception as error:
            # Answered here, not re-raised: Starlette's outermost middleware answers an
            # unhandled error and raises it again, and uvicorn then closes the connection under
            # the client's next request on it. The error is a 500, the connection stays usable.
            errors_log.exception("event=unhandled_error path=%s", scope.get("path"))
            if status_sent:
                raise
            status = 500
            message = f"Internal server error: {type(error).__name__}"
            await _refuse(send, request_id, 500, message)
        finally:
            _finish(scope, status, started, request_id, traced)
            await _audit(scope, status, request_id)

    async def _fast_read(
        self,
        scope: Scope,
        send: Send,
        read: tuple[FastPath[Any], Any],
        request_id: str,
        key: Key | None,
    ) -> int | None:
        """Send the fast answer to `read`, if it has one, and say its status; None when
        FastAPI should answer instead. An unexpected error is answered as the full path
        answers one. With `key`, the answer is kept for the same request if it may be."""
        answerer, request = read
        answers = None if self.fast is None or key is None else self.fast.answers
        try:
            pending = None
            if answers is not None:
                pending = answers.before(_header(scope, b"authorization"))
            answer = await answerer.respond(scope, request)
        except Exception as error:
            errors_log.exception("event=unhandled_error path=%s", scope.get("path"))
            await _refuse(send, request_id, 500, f"Internal server error: {type(error).__name__}")
            return 500
        if answer is None:
            return None
        if pending is not None and answers is not None and key is not None:
            answers.keep(key, pending, answer, scope["state"]["operation"])
        headers = [*answer.headers, (b"x-request-id", request_id.encode("latin-1"))]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
        return answer.status


async def _send_kept(scope: Scope, send: Send, kept: Kept, started: float) -> None:
    """An answer kept by `answers.AnswerCache`, sent as `_fast_read` sends a fresh one."""
    traced = tracing.request_span(scope)
    request_id = _request_id(scope, traced)
    state = scope.setdefault("state", {})
    state["request_id"] = request_id
    state["via"] = "fast"
    state["operation"] = kept.operation
    headers = [*kept.headers, (b"x-request-id", request_id.encode("latin-1"))]
    await send({"type": "http.response.start", "status": kept.status, "headers": headers})
    await send({"type": "http.response.body", "body": kept.body})
    _finish(scope, kept.status, started, request_id, traced)


def _request_id(scope: Scope, traced: RequestSpan | None) -> str:
    """The trace's id, or the client's `X-Request-Id`, or a new random one (what
    `secrets.token_hex(16)` makes, from the same source, at half its cost)."""
    if traced is not None:
        return traced.trace_id
    return _header(scope, b"x-request-id") or os.urandom(16).hex()


class _BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body parsing passes it on as it is (a 413) instead
    of reporting a body it could not parse (a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body larger than {limit} bytes")


def _url_is_utf8(scope: Scope) -> bool:
    """uvicorn decodes %-escapes that are not UTF-8 to U+FFFD, so that `%FF` and `%FE` would
    name the same namespace; such a URL is refused instead. A URL of plain ASCII without a
    `%` (nearly every request) is UTF-8 as it stands: nothing to decode."""
    raw: bytes = scope.get("raw_path") or b""
    query: bytes = scope.get("query_string") or b""
    if raw.isascii() and query.isascii() and b"%" not in raw and b"%" not in query:
        return True
    try:
        unquote_to_bytes(raw).decode("utf-8")
        unquote_to_bytes(query).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


async def _reject(send: Send, request_id: str, limit: int) -> None:
    await _refuse(send, request_id, 413, f"Request body larger than {limit} bytes")


async def _refuse(send: Send, request_id: str, status: int, message: str) -> None:
    body = error_body(status, message)
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode("latin-1")),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def audit_in_change(scope: Scope, status: int) -> AuditEntry | None:
    """This request's audit record, for a mutation to write in its own transaction with the
    `status` the route answers when it succeeds; `audit_written` then tells `_audit` so."""
    state = scope.get("state", {})
    pending = state.get("audit")
    if pending is None:
        return None
    principal, operation, target = pending
    return AuditEntry(principal, operation, target, state.get("request_id", ""), status)


def audit_written(scope: Scope) -> None:
    scope.setdefault("state", {})["audit"] = None


async def _audit(scope: Scope, status: int, request_id: str) -> None:
    """Writes and admin actions, once their outcome is known (set by `authorize`)."""
    pending = scope.get("state", {}).get("audit")
    if pending is None:
        return
    principal, operation, target = pending
    catalog = scope["app"].state.catalog
    try:
        await run_in_threadpool(
            catalog.audit.record, principal, operation, target, request_id, status
        )
    except Exception:
        log.exception("event=audit_write_failed operation=%s request_id=%s", operation, request_id)


def operation_of(scope: Scope) -> str:
    """The operation a request was: its route's operationId (or name), as the fast path or
    FastAPI's router left it in the scope; `unmatched` for a path no route serves."""
    named: str | None = scope["state"].get("operation")
    if named is not None:
        return named
    route = scope.get("route")
    return getattr(route, "operation_id", None) or getattr(route, "name", None) or "unmatched"


def _finish(
    scope: Scope, status: int, started: float, request_id: str, traced: RequestSpan | None
) -> None:
    operation = operation_of(scope)
    metrics.observe_request(operation, status, time.perf_counter() - started)
    if traced is not None:
        traced.end(operation, status)
    _log(scope, status, started, request_id)


def _log(scope: Scope, status: int, started: float, request_id: str) -> None:
    """The access line. It runs on every request, the fast paths' included: so it is written
    by `line_writer` (the configured handler's format rendered once a second, one write) when
    that handler is the only one in the way, and otherwise as a record made directly
    (`makeRecord`, then `handle`: what `log.info` does, less looking up the caller's frame,
    which no format shows)."""
    if not log.isEnabledFor(logging.INFO):
        return
    elapsed_ms = (time.perf_counter() - started) * 1000
    args = (
        scope.get("method"),
        scope.get("path"),
        status,
        elapsed_ms,
        request_id,
        " via=fast" if scope.get("state", {}).get("via") == "fast" else "",
    )
    writer = line_writer(log)
    if writer is not None and writer.write(_ACCESS_LINE % args):
        return
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, _ACCESS_LINE, args, None))


_ACCESS_LINE = "event=request method=%s path=%s status=%d ms=%.1f request_id=%s%s"
