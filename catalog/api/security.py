"""Authentication (who is calling) and authorization (may they), as FastAPI dependencies.

Authorization asks `catalog.auth.policy.POLICY` about the matched operation; nothing else
in the API decides who may do what.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from catalog.auth.access_tokens import AccessTokenIssuer
from catalog.auth.oidc import OidcVerifier
from catalog.auth.policy import POLICY, Rule, Target
from catalog.auth.principal import ANONYMOUS_ADMIN, Permission, Principal
from catalog.auth.secrets import parse_bearer
from catalog.exceptions import BadRequest, Forbidden, Unauthorized
from catalog.service.audit import Actor
from catalog.service.identifiers import NAMESPACE_SEPARATOR, dotted
from catalog.service.tokens import TokenService

log = logging.getLogger("icefloe.auth")


class Authenticator:
    """Turns an `Authorization: Bearer …` header into a Principal, or refuses it."""

    def __init__(
        self,
        tokens: TokenService,
        issuer: AccessTokenIssuer,
        oidc: OidcVerifier | None,
        enabled: bool,
    ) -> None:
        self.tokens = tokens
        self.issuer = issuer
        self.oidc = oidc
        self.enabled = enabled

    def answers_locally(self, authorization: str | None) -> bool:
        """True unless authenticating this header may need the network (an OIDC token's
        keys): the event loop may then run `authenticate` itself."""
        if not self.enabled or self.oidc is None:
            return True
        credential = (authorization or "").partition(" ")[2].strip()
        return parse_bearer(credential) is not None or AccessTokenIssuer.is_ours(credential)

    def authenticate(self, authorization: str | None, may_read: bool = True) -> Principal:
        """The caller. Without `may_read` (on PostgreSQL's event loop) a token whose row this
        process does not hold fresh raises `tokens.NeedsRead` instead of reading it."""
        if not self.enabled:
            return ANONYMOUS_ADMIN
        if not authorization:
            raise Unauthorized("Authentication required: send Authorization: Bearer <token>")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthorized("Unsupported authorization scheme: use Bearer")
        parts = parse_bearer(credential)
        if parts is not None:
            principal = self.tokens.authenticate(parts, may_read)
            if principal is None:
                raise Unauthorized("Invalid, expired or revoked token")
            return principal
        if AccessTokenIssuer.is_ours(credential):
            try:
                claims = self.issuer.verify(credential)
            except jwt.ExpiredSignatureError as error:
                raise Unauthorized("Access token expired") from error
            except jwt.InvalidTokenError as error:
                raise Unauthorized("Invalid access token") from error
            if claims.generation is None:
                raise Unauthorized("Access token from an older server version: get a new one")
            principal = self.tokens.principal_for(claims.token_id, claims.generation, may_read)
            if principal is None:
                raise Unauthorized(
                    "The token behind this access token was revoked, rotated or expired"
                )
            return principal
        if self.oidc is not None and OidcVerifier.looks_like_jwt(credential):
            try:
                return self.oidc.verify(credential)
            except (jwt.PyJWTError, httpx.HTTPError, KeyError, ValueError) as error:
                log.info("event=oidc_token_refused reason=%s", type(error).__name__)
                raise Unauthorized(f"Token refused: {type(error).__name__}") from error
        raise Unauthorized("Invalid token")

    def token_of(self, authorization: str | None) -> tuple[str, float] | None:
        """Which of our API tokens an `Authorization` header `authenticate` accepted presents
        (its id), and when the credential itself stops (an access token's `exp`, seconds since
        the epoch; infinity for an API token's secret, whose row says when it expires); None
        for anything else. Reads the claims of an access token this request already verified,
        without verifying them again."""
        credential = (authorization or "").partition(" ")[2].strip()
        parts = parse_bearer(credential)
        if parts is not None:
            return parts.token_id, math.inf
        if not AccessTokenIssuer.is_ours(credential):
            return None
        try:
            claims = jwt.decode(credential, options={"verify_signature": False})
            return str(claims["sub"]), float(claims["exp"])
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return None


async def current_principal(request: Request) -> Principal:
    """On SQLite a token's check is a cached row or one local indexed read, cheaper than the
    worker-thread hop that would carry it (~0.1-0.2 ms of event-loop CPU per request), so it
    runs on the event loop, as the fast paths run it (`fast.authenticated`); on PostgreSQL (a
    round trip) and for a token whose keys may need the network (OIDC), on a worker thread.
    The same `authenticate` either way: the same principal, the same refusals."""
    authenticator: Authenticator = request.app.state.authenticator
    header = request.headers.get("authorization")
    if getattr(request.app.state, "authenticate_on_loop", False) and (
        authenticator.answers_locally(header)
    ):
        principal = authenticator.authenticate(header)
    else:
        principal = await run_in_threadpool(authenticator.authenticate, header)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _namespaces_in_body(body: Any, target: Target) -> Iterator[tuple[str, ...]]:
    if not isinstance(body, dict):
        return
    if target is Target.BODY_NAMESPACE:
        yield _levels(body.get("namespace"))
    elif target is Target.RENAME:
        for end in ("source", "destination"):
            side = body.get(end)
            yield _levels(side.get("namespace") if isinstance(side, dict) else None)
    elif target is Target.TRANSACTION:
        changes = body.get("table-changes")
        for change in changes if isinstance(changes, list) else []:
            identifier = change.get("identifier") if isinstance(change, dict) else None
            yield _levels(identifier.get("namespace") if isinstance(identifier, dict) else None)


def _levels(value: Any) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


async def _targets(request: Request, rule: Rule) -> list[tuple[str, ...]]:
    """The namespaces an operation touches, read from the request before anything runs."""
    if rule.target is Target.PATH_NAMESPACE:
        return [tuple(request.path_params.get("namespace", "").split(NAMESPACE_SEPARATOR))]
    if rule.target is Target.PARENT_NAMESPACE:
        parent = request.query_params.get("parent")
        return [tuple(parent.split(NAMESPACE_SEPARATOR)) if parent else ()]
    if rule.target in (Target.BODY_NAMESPACE, Target.RENAME, Target.TRANSACTION):
        try:
            body = json.loads(await request.body() or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise BadRequest("Invalid JSON body") from error
        return list(_namespaces_in_body(body, rule.target)) or [()]
    return [()]


_NO_NAMESPACE = (Target.CATALOG, Target.WAREHOUSE, Target.NONE)


async def authorize(request: Request, principal: CurrentPrincipal) -> Principal:
    """The one gate every catalog and admin operation passes."""
    route = request.scope.get("route")
    operation = getattr(route, "operation_id", None)
    rule = POLICY.get(operation or "")
    if rule is None:
        raise Forbidden(f"No privilege rule for operation {operation!r}")
    warehouse = request.path_params.get("prefix") or request.query_params.get("warehouse") or ""
    targets = [] if rule.target in _NO_NAMESPACE else await _targets(request, rule)
    if rule.audited:  # before the checks: refused attempts are part of the record
        request.scope.setdefault("state", {})["audit"] = (
            principal.id,
            operation,
            _describe(request, warehouse, targets),
        )
    refused = refusal(principal, rule, warehouse, targets)
    if refused is not None:
        raise Forbidden(refused)
    return principal


def refusal(
    principal: Principal, rule: Rule, warehouse: str, targets: Sequence[tuple[str, ...]]
) -> str | None:
    """Why `principal` may not do what `rule` governs in `warehouse` on `targets`, or None
    when it may: the one decision, for `authorize` and for the fast paths alike."""
    if rule.target is Target.CATALOG and not principal.is_admin:
        return "This operation needs the catalog admin permission"
    if (
        rule.target is Target.WAREHOUSE
        and warehouse
        and not principal.may_enter_warehouse(warehouse)
    ):
        return f"No access to warehouse {warehouse}"
    for namespace in targets:
        if not _allowed(principal, rule, warehouse, namespace):
            where = dotted(namespace) or f"warehouse {warehouse}"
            return f"Permission {rule.permission.name.lower()} needed on {where}"
    return None


def _allowed(principal: Principal, rule: Rule, warehouse: str, namespace: tuple[str, ...]) -> bool:
    if rule.permission is Permission.READ and rule.target is Target.PARENT_NAMESPACE:
        # Listing: the result is filtered; entering the level is enough.
        return (
            principal.may_see_namespace(warehouse, namespace)
            if namespace
            else (principal.may_enter_warehouse(warehouse))
        )
    return principal.may(rule.permission, warehouse, namespace)


def _describe(request: Request, warehouse: str, targets: list[tuple[str, ...]]) -> str:
    params = request.path_params
    leaf = params.get("table") or params.get("view") or params.get("token_id") or ""
    return audit_target(warehouse, targets, leaf, request.url.path)


def audit_target(warehouse: str, targets: Sequence[tuple[str, ...]], leaf: str, path: str) -> str:
    """What the audit record names as an operation's target, for `authorize` and the commit
    fast path alike: warehouse/namespaces/name, or the request's path when it names none."""
    spaces = ",".join(dotted(t) for t in targets if t)
    return "/".join(part for part in (warehouse, spaces, leaf) if part) or path


Authorized = Annotated[Principal, Depends(authorize)]


async def current_actor(request: Request, principal: Authorized) -> Actor:
    """Who the service records as the cause of what it writes to the audit log itself."""
    request_id = str(request.scope.get("state", {}).get("request_id", ""))
    return Actor(principal.id, request_id)


ActorDep = Annotated[Actor, Depends(current_actor)]
