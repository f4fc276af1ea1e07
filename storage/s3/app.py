"""The ASGI application: parse, authenticate, authorise, dispatch, answer, log.

Raw ASGI rather than a framework: S3 routing depends on query subresources and
headers, bodies must stream both ways with verification in the loop, and errors must
be S3 XML documents.  Nothing here is global: several apps (tests, the catalog's
process) can live side by side, each with its own data dir, keys and thread pool.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.types import Message, Receive, Scope, Send

from storage.s3 import errors, metrics
from storage.s3.auth import Authenticator, Principal
from storage.s3.authz import authorize
from storage.s3.body import ClientDisconnected
from storage.s3.config import S3ServerConfig
from storage.s3.context import Context
from storage.s3.credentials import CredentialAuthority
from storage.s3.ops_cors import actual_headers, preflight
from storage.s3.request import S3Request, new_request_id
from storage.s3.response import XML_CONTENT_TYPE, Response
from storage.s3.rootkeys import RootCredentials, load_or_create_root_credentials
from storage.s3.routing import HANDLERS
from storage.s3.scope import request_scope
from storage.s3.store import ObjectStore
from storage.s3.xmlio import error_document

T = TypeVar("T")
logger = logging.getLogger("icefloe.s3")

_DRAIN_LIMIT = 8 * 1024 * 1024


class _Receiver:
    """Wraps ASGI receive to know whether the request body was read to its end."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.finished = False
        self.received = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.finished = True
        elif message["type"] == "http.disconnect":
            self.finished = True
        return message


async def _wait_for_disconnect(receiver: _Receiver) -> None:
    while (await receiver())["type"] != "http.disconnect":
        pass


class S3Application:
    """An S3-compatible (R2-flavoured) endpoint over one data directory."""

    def __init__(self, config: S3ServerConfig) -> None:
        self.config = config
        self.root_credentials: RootCredentials = load_or_create_root_credentials(
            config.data_dir, config.root_access_key_id, config.root_secret_access_key
        )
        self.authority = CredentialAuthority(
            self.root_credentials.access_key_id, self.root_credentials.secret_access_key
        )
        self.store = ObjectStore(config.data_dir, fsync=config.fsync)
        swept = self.store.startup()
        if swept:
            logger.info("event=s3.startup.sweep removed=%d data_dir=%s", swept, config.data_dir)
        self._authenticator = Authenticator(self.authority, config.accepted_regions)
        self._executor = ThreadPoolExecutor(
            max_workers=config.io_threads, thread_name_prefix="icefloe-s3"
        )
        self._closed = False

    def close(self) -> None:
        """Release the thread pool and the data dir; the app must not be used afterwards."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        self.store.close()

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._handle(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope: Scope, raw_receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        receiver = _Receiver(raw_receive)
        request_id = new_request_id()
        request: S3Request | None = None
        principal: Principal | None = None
        operation = "-"
        error_code: str | None = None
        try:
            request = S3Request.from_scope(scope, receiver, self.config.virtual_host_domains)
            request.request_id = request_id
            if request.method == "OPTIONS":  # a browser's preflight carries no credentials
                operation = "PreflightCors"
                response = await self.run_sync(preflight, self.store, request)
                await self._send(scope, send, response, request_id, receiver)
                self._log(scope, request, operation, None, request_id, 200, started, receiver, 0)
                return
            principal, contract = self._authenticator.authenticate(request)
            scope_of_request = request_scope(request)
            operation = scope_of_request.operation
            authorize(principal, scope_of_request.touches)
            context = Context(
                request=request,
                principal=principal,
                contract=contract,
                store=self.store,
                config=self.config,
                run_sync=self.run_sync,
            )
            response = await HANDLERS[operation](context)
        except errors.S3Error as exc:
            error_code = exc.code
            response = self._error(exc, request, request_id)
        except ClientDisconnected:
            self._log(scope, request, operation, principal, request_id, 499, started, receiver, 0)
            return
        except Exception:
            logger.exception("event=s3.error request_id=%s operation=%s", request_id, operation)
            error_code = errors.InternalError.code
            response = self._error(errors.InternalError(), request, request_id)
        if request is not None and "origin" in request.headers:
            for name, value in await self.run_sync(actual_headers, self.store, request):
                response.header(name, value)
        if not receiver.finished:
            await self._settle_body(scope, receiver, response)
        sent = await self._send(scope, send, response, request_id, receiver)
        self._log(
            scope, request, operation, principal, request_id, response.status, started,
            receiver, sent, error_code,
        )  # fmt: skip

    def _error(self, exc: errors.S3Error, request: S3Request | None, request_id: str) -> Response:
        fields = dict(exc.fields)
        if request is not None and request.bucket is not None and "BucketName" not in fields:
            fields["BucketName"] = request.bucket
        if request is not None and request.key is not None and "Key" not in fields:
            fields["Key"] = request.key
        body = error_document(
            exc.code,
            exc.message,
            request.resource if request is not None else "/",
            request_id,
            fields,
        )
        response = Response(status=exc.status, body=body)
        response.headers.append((b"content-type", XML_CONTENT_TYPE))
        response.headers.extend(exc.extra_headers())
        return response

    async def _settle_body(self, scope: Scope, receiver: _Receiver, response: Response) -> None:
        """An answer given before the body was read: drain a small body so the client
        sees our response instead of a reset; otherwise close the connection after it."""
        headers = dict(scope["headers"])
        expect = headers.get(b"expect", b"").lower() == b"100-continue"
        length_text = headers.get(b"content-length")
        length = int(length_text) if length_text and length_text.isdigit() else None
        if (length is None and b"transfer-encoding" not in headers) or length == 0:
            return
        if not expect and length is not None and length <= _DRAIN_LIMIT:
            try:
                while not receiver.finished:
                    await asyncio.wait_for(receiver(), timeout=30)
                return
            except (TimeoutError, Exception):  # noqa: S110 - the answer is sent regardless
                pass
        response.headers.append((b"connection", b"close"))

    async def _send(
        self, scope: Scope, send: Send, response: Response, request_id: str, receiver: _Receiver
    ) -> int:
        headers = list(response.headers)
        rid = request_id.encode("ascii")
        headers += [(b"x-amz-request-id", rid), (b"x-amz-id-2", rid), (b"server", b"icefloe")]
        head_only = scope["method"] == "HEAD" or response.omit_body
        if response.stream is not None or response.content_length is not None:
            length = response.content_length or 0
        else:
            length = len(response.body)
        if response.status not in (204, 304):
            headers.append((b"content-length", str(length).encode("ascii")))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        sent = 0
        if head_only or response.status in (204, 304):
            await send({"type": "http.response.body", "body": b""})
            if response.stream is not None:
                await response.stream.aclose()
            return 0
        if response.stream is None:
            await send({"type": "http.response.body", "body": response.body})
            return len(response.body)
        # uvicorn drops sends to a vanished client silently; watch for the disconnect
        # so an abandoned multi-GB download stops reading the disk.
        gone = asyncio.ensure_future(_wait_for_disconnect(receiver))
        try:
            async for chunk in response.stream:
                if gone.done():
                    return sent
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
        finally:
            gone.cancel()
            await response.stream.aclose()
        await send({"type": "http.response.body", "body": b""})
        return sent

    def _log(
        self,
        scope: Scope,
        request: S3Request | None,
        operation: str,
        principal: Principal | None,
        request_id: str,
        status: int,
        started: float,
        receiver: _Receiver,
        sent: int,
        error_code: str | None = None,
    ) -> None:
        """The access line; a refusal names its S3 error code (why a 403 was a 403)."""
        metrics.observe(operation, status, receiver.received, sent)
        key = request.key if request is not None else None
        logger.info(
            "event=s3.request request_id=%s operation=%s method=%s bucket=%s key=%s status=%d "
            "error=%s access_key=%s bytes_in=%d bytes_out=%d duration_ms=%.1f",
            request_id,
            operation,
            scope.get("method", "-"),
            (request.bucket if request is not None else None) or "-",
            "-" if key is None else repr(key),
            status,
            error_code or "-",
            principal.access_key_id if principal is not None else "-",
            receiver.received,
            sent,
            (time.perf_counter() - started) * 1000,
            extra={
                "s3": {
                    "request_id": request_id,
                    "operation": operation,
                    "method": scope.get("method"),
                    "bucket": request.bucket if request is not None else None,
                    "key": key,
                    "status": status,
                    "error": error_code,
                    "access_key": principal.access_key_id if principal is not None else None,
                    "bytes_in": receiver.received,
                    "bytes_out": sent,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                }
            },
        )


def create_s3_app(config: S3ServerConfig) -> S3Application:
    """Build the endpoint. Root keys come from `config`, else from (or into) the data dir.

    The result is an ASGIApp; its `authority` issues temporary credentials and its
    `root_credentials` tell where generated keys are kept.
    """
    return S3Application(config)
