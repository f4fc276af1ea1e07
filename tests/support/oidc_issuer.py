"""A local OpenID Connect issuer for tests: a discovery document, a JWKS endpoint, and keys
the test can rotate. Tokens are signed with PyJWT. For browser sign-in it also answers the
authorization code flow with PKCE (RFC 7636) for a public client: /authorize approves at once
(as a user already signed in at the provider would be) and /token checks the verifier."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class LocalIssuer:
    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.current_kid = self.rotate()
        #: The roles of whoever signs in through /authorize.
        self.login_roles = ["platform"]
        self._codes: dict[str, dict[str, str]] = {}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    body = {
                        "issuer": issuer.url,
                        "jwks_uri": f"{issuer.url}/jwks.json",
                        "authorization_endpoint": f"{issuer.url}/authorize",
                        "token_endpoint": f"{issuer.url}/token",
                    }
                elif path == "/jwks.json":
                    body = {"keys": [issuer.public_jwk(kid) for kid in issuer.keys]}
                elif path == "/authorize":
                    self._authorize({k: v[0] for k, v in parse_qs(query).items()})
                    return
                else:
                    self.send_error(404)
                    return
                self._json(200, body)

            def do_POST(self) -> None:
                if self.path != "/token":
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                grant = issuer._codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "").encode()
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier).digest())
                    .rstrip(b"=")
                    .decode()
                )
                if (
                    grant is None
                    or form.get("grant_type") != "authorization_code"
                    or form.get("client_id") != grant["client_id"]
                    or form.get("redirect_uri") != grant["redirect_uri"]
                    or challenge != grant["challenge"]
                ):
                    self._json(400, {"error": "invalid_grant"})
                    return
                bearer = issuer.token(roles=issuer.login_roles)
                self._json(
                    200, {"access_token": bearer, "token_type": "Bearer", "id_token": bearer}
                )

            def _authorize(self, params: dict[str, str]) -> None:
                if params.get("code_challenge_method") != "S256" or not params.get("state"):
                    self.send_error(400)
                    return
                code = secrets.token_urlsafe(16)
                issuer._codes[code] = {
                    "client_id": params.get("client_id", ""),
                    "redirect_uri": params.get("redirect_uri", ""),
                    "challenge": params.get("code_challenge", ""),
                }
                target = urlsplit(params["redirect_uri"])
                query = urlencode({"code": code, "state": params["state"]})
                self.send_response(302)
                self.send_header("Location", target._replace(query=query).geturl())
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _json(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Access-Control-Allow-Origin", "*")  # a browser's console
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def rotate(self, *, drop_old: bool = False) -> str:
        kid = uuid.uuid4().hex[:8]
        if drop_old:
            self.keys.clear()
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.current_kid = kid
        return kid

    def public_jwk(self, kid: str) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
        return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}

    def token(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": "icefloe",
            "sub": "user-1",
            "preferred_username": "ana",
            "iat": now,
            "exp": now + 300,
            "roles": ["analysts"],
        }
        kid = overrides.pop("kid", self.current_kid)
        key = overrides.pop("key", None) or self.keys[kid]
        claims.update(overrides)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def close(self) -> None:
        self._server.shutdown()
