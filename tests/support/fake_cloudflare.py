"""A stand-in for Cloudflare's temporary access credentials API, on 127.0.0.1.

It follows the documented contract (Cloudflare R2 docs, "Temporary access credentials", and the
API reference it links): `POST /client/v4/accounts/{account_id}/r2/temp-access-credentials`
with `Authorization: Bearer <API token>` and a JSON body of `bucket`, `parentAccessKeyId`,
`permission`, `ttlSeconds` (at most 604800) and optional `prefixes`/`objects`, answered with
Cloudflare's envelope `{"success", "errors", "messages", "result": {"accessKeyId",
"secretAccessKey", "sessionToken"}}`. Anything else is refused the way Cloudflare refuses it.

R2 derives the credential from the parent token; here the embedded store's
`CredentialAuthority` mints it for the requested bucket, prefixes, permission and TTL, so the
embedded store enforces exactly the scope the catalog asked Cloudflare for.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from storage.s3 import CredentialAuthority

Mode = Literal["ok", "forbidden", "unsuccessful", "slow"]
PERMISSIONS = ("admin-read-write", "admin-read-only", "object-read-write", "object-read-only")
REQUIRED: dict[str, type | tuple[type, ...]] = {
    "bucket": str,
    "parentAccessKeyId": str,
    "permission": str,
    "ttlSeconds": (int, float),
}
OPTIONAL = {"prefixes": list, "objects": list}
MAX_TTL = 604_800


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    authorization: str | None
    content_type: str | None
    body: Any


def envelope(result: Any = None, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"result": result, "success": not errors, "errors": errors or [], "messages": []}


class FakeCloudflareApi:
    def __init__(
        self,
        account_id: str,
        api_token: str,
        parent_access_key_id: str,
        authority: Callable[[], CredentialAuthority],
        slow_seconds: float = 3.0,
    ) -> None:
        self.account_id = account_id
        self.api_token = api_token
        self.parent_access_key_id = parent_access_key_id
        self.authority = authority
        self.slow_seconds = slow_seconds
        self.mode: Mode = "ok"
        self.received: list[ReceivedRequest] = []
        self.issued: list[str] = []  # access key ids minted
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """What ICEFLOE_R2_API_BASE is set to: Cloudflare's is .../client/v4."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/client/v4"

    def start(self) -> FakeCloudflareApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.received.append(
            ReceivedRequest(path, headers.get("authorization"), headers.get("content-type"), body)
        )
        expected = f"/client/v4/accounts/{self.account_id}/r2/temp-access-credentials"
        if path != expected:
            return 404, envelope(errors=[{"code": 7003, "message": "No route for that URI"}])
        if headers.get("authorization") != f"Bearer {self.api_token}" or self.mode == "forbidden":
            return 403, envelope(errors=[{"code": 10000, "message": "Authentication error"}])
        if self.mode == "unsuccessful":
            # Echoes the token, as a careless upstream might: the catalog must not pass it on.
            message = f"token {self.api_token} may not create temporary credentials"
            return 200, envelope(errors=[{"code": 10042, "message": message}])
        if self.mode == "slow":
            time.sleep(self.slow_seconds)
        problem = self._invalid(headers, body)
        if problem:
            return 400, envelope(errors=[{"code": 10001, "message": problem}])
        prefixes = list(body.get("prefixes") or []) + list(body.get("objects") or [])
        issued = self.authority().issue(
            bucket=body["bucket"],
            prefixes=prefixes or [""],
            permission=body["permission"],
            ttl=timedelta(seconds=body["ttlSeconds"]),
        )
        self.issued.append(issued.access_key_id)
        result = {
            "accessKeyId": issued.access_key_id,
            "secretAccessKey": issued.secret_access_key,
            "sessionToken": issued.session_token,
        }
        return 200, envelope(result)

    def _invalid(self, headers: dict[str, str], body: Any) -> str | None:
        if not (headers.get("content-type") or "").startswith("application/json"):
            return "Content-Type must be application/json"
        if not isinstance(body, dict):
            return "the body must be a JSON object"
        for name, kind in REQUIRED.items():
            if not isinstance(body.get(name), kind) or isinstance(body.get(name), bool):
                return f"'{name}' is required"
        unknown = set(body) - set(REQUIRED) - set(OPTIONAL)
        if unknown:
            return f"unknown fields: {sorted(unknown)}"
        for name in OPTIONAL:
            value = body.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return f"'{name}' must be a list of strings"
        if body["permission"] not in PERMISSIONS:
            return f"'permission' must be one of {PERMISSIONS}"
        if body["permission"].startswith("admin-"):
            return "this stand-in mints object credentials only"
        if not 0 < body["ttlSeconds"] <= MAX_TTL:
            return f"'ttlSeconds' must be in 1..{MAX_TTL}"
        if body["parentAccessKeyId"] != self.parent_access_key_id:
            return "the parent access key does not exist"
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = api.answer(self.path, headers, raw)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the catalog gave up waiting (the "slow" mode)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
