"""POST /v1/oauth/tokens: OAuth2 client credentials (RFC 6749 §4.4) and token exchange for
refresh (RFC 8693), as PyIceberg's `credential=id:secret`, Spark's `credential` and DuckDB's
CLIENT_ID/CLIENT_SECRET use it. The client id and secret are an API token's id and secret.

An access token lasts `access_token_lifetime` and ends earlier when its API token is revoked or
rotated. A refresh keeps the subject's generation and expiry bound; only the secret (client
credentials, in either grant) starts a session with a full lifetime.

The spec marks this endpoint deprecated in favour of an external authorization server; it stays
because the clients people run today call it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import jwt
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from catalog.api.security import Authenticator
from catalog.auth.access_tokens import IssuedAccessToken
from catalog.auth.secrets import TokenParts

router = APIRouter(tags=["OAuth2 API"])

CLIENT_CREDENTIALS = "client_credentials"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
GRANTED_SCOPE = "catalog"
# What clients ask for by default: PyIceberg and Iceberg Java send `catalog`; DuckDB (and other
# Polaris-style clients) send `PRINCIPAL_ROLE:ALL`. Both get the same grant: the token's own
# permissions, as RFC 6749 §3.3 lets a server grant a scope other than the one requested.
SUPPORTED_SCOPES = {GRANTED_SCOPE, "PRINCIPAL_ROLE:ALL"}


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="icefloe"'} if status == 401 else None
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


@router.post("/v1/oauth/tokens", operation_id="getToken", deprecated=True)
async def get_token(
    request: Request,
    grant_type: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    subject_token: Annotated[str | None, Form()] = None,
    subject_token_type: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    authenticator: Authenticator = request.app.state.authenticator
    requested = set((scope or GRANTED_SCOPE).split())
    if not requested <= SUPPORTED_SCOPES:
        return oauth_error(400, "invalid_scope", f"Supported scopes: {sorted(SUPPORTED_SCOPES)}")
    basic = _basic_credentials(request)
    if basic is not None:
        client_id, client_secret = basic
    if grant_type is None:
        return oauth_error(400, "invalid_request", "grant_type is required")
    if grant_type not in (CLIENT_CREDENTIALS, TOKEN_EXCHANGE):
        return oauth_error(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type}")
    if grant_type == TOKEN_EXCHANGE:
        if not subject_token or subject_token_type not in (None, ACCESS_TOKEN_TYPE):
            return oauth_error(400, "invalid_request", "subject_token of type access_token needed")
        if not (client_id and client_secret):
            return await _refresh(authenticator, subject_token)
        # With the client's own credentials it is a new session, as by client_credentials: how
        # Iceberg Java renews a token that has expired (Basic credentials, the old token as
        # subject). Only the current secret can do that.
    return await _new_session(authenticator, client_id, client_secret)


async def _new_session(
    authenticator: Authenticator, client_id: str | None, client_secret: str | None
) -> JSONResponse:
    """A full lifetime for the current generation of the token whose secret this is."""
    if not client_id or not client_secret:
        return oauth_error(401, "invalid_client", "client_id and client_secret are required")
    record = await run_in_threadpool(
        authenticator.tokens.check_secret, TokenParts(client_id, client_secret)
    )
    if record is None:
        return oauth_error(401, "invalid_client", "Unknown client or wrong secret")
    return _granted(authenticator.issuer.issue(record.id, GRANTED_SCOPE, record.generation))


async def _refresh(authenticator: Authenticator, subject_token: str) -> JSONResponse:
    """RFC 8693 exchange of one of our access tokens for a new one of the same generation that
    expires no later than it: refreshing cannot outlive the subject, nor survive a rotation."""
    try:
        claims = authenticator.issuer.verify(subject_token)
    except jwt.ExpiredSignatureError:
        return oauth_error(401, "invalid_grant", "The subject token expired")
    except jwt.InvalidTokenError:
        return oauth_error(400, "invalid_grant", "The subject token is invalid")
    record = (
        None
        if claims.generation is None
        else await run_in_threadpool(
            authenticator.tokens.check_generation, claims.token_id, claims.generation
        )
    )
    if record is None:
        return oauth_error(
            401, "invalid_grant", "The token behind it was revoked, rotated or expired"
        )
    issued = authenticator.issuer.issue(
        record.id, GRANTED_SCOPE, record.generation, not_after=claims.expires_at
    )
    return _granted(issued)


def _granted(issued: IssuedAccessToken) -> JSONResponse:
    return JSONResponse(
        {
            "access_token": issued.token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "scope": GRANTED_SCOPE,
        },
        headers={"Cache-Control": "no-store"},
    )
