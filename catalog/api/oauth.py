"""POST /v1/oauth/tokens: OAuth2 client credentials (RFC 6749 §4.4) and token exchange for
refresh (RFC 8693), as PyIceberg's `credential=id:secret`, Spark's `credential` and DuckDB's
CLIENT_ID/CLIENT_SECRET use it. The client id and secret are an API token's id and secret.

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
from catalog.auth.secrets import TokenParts

router = APIRouter(tags=["OAuth2 API"])

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
    if grant_type == "client_credentials":
        basic = _basic_credentials(request)
        if basic is not None:
            client_id, client_secret = basic
        if not client_id or not client_secret:
            return oauth_error(401, "invalid_client", "client_id and client_secret are required")
        principal = await run_in_threadpool(
            authenticator.tokens.authenticate, TokenParts(client_id, client_secret)
        )
        if principal is None:
            return oauth_error(401, "invalid_client", "Unknown client or wrong secret")
        token_id = principal.id
    elif grant_type == TOKEN_EXCHANGE:
        if not subject_token or subject_token_type not in (None, ACCESS_TOKEN_TYPE):
            return oauth_error(400, "invalid_request", "subject_token of type access_token needed")
        try:
            claims = authenticator.issuer.verify(subject_token)
        except jwt.InvalidTokenError:
            return oauth_error(400, "invalid_grant", "The subject token is invalid or expired")
        if await run_in_threadpool(authenticator.tokens.principal_for, claims.token_id) is None:
            return oauth_error(400, "invalid_grant", "The token behind it was revoked")
        token_id = claims.token_id
    elif grant_type is None:
        return oauth_error(400, "invalid_request", "grant_type is required")
    else:
        return oauth_error(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type}")
    access_token = authenticator.issuer.issue(token_id, GRANTED_SCOPE)
    return JSONResponse(
        {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": authenticator.issuer.lifetime_seconds,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "scope": GRANTED_SCOPE,
        },
        headers={"Cache-Control": "no-store"},
    )
