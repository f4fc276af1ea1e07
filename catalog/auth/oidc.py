"""JWTs from an external OpenID Connect issuer: discovery document, JWKS (refetched when an
unknown key id appears, so the issuer can rotate keys), audience and issuer checks, clock
leeway, and a configurable claim mapped to our grants."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from catalog.auth.principal import Grant, Permission, Principal

log = logging.getLogger("icefloe.auth.oidc")
ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]


@dataclass(frozen=True)
class RoleGrant:
    permission: Permission
    warehouses: tuple[str, ...] | None = None
    namespaces: tuple[tuple[str, ...], ...] | None = None


def parse_role_map(raw: Mapping[str, Any]) -> dict[str, RoleGrant]:
    """`{"role": {"permission": "read-only", "warehouses": [...], "namespaces": [[...]]}}`."""
    roles: dict[str, RoleGrant] = {}
    for role, spec in raw.items():
        warehouses = spec.get("warehouses")
        namespaces = spec.get("namespaces")
        roles[role] = RoleGrant(
            Permission.parse(spec["permission"]),
            tuple(warehouses) if warehouses is not None else None,
            tuple(tuple(n) for n in namespaces) if namespaces is not None else None,
        )
    return roles


class OidcVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        role_claim: str,
        roles: Mapping[str, RoleGrant],
        leeway_seconds: int = 60,
        name_claim: str = "preferred_username",
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.role_claim = role_claim
        self.roles = dict(roles)
        self.leeway = leeway_seconds
        self.name_claim = name_claim
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()
        self._discovered_at = 0.0

    def _jwks_client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._jwks is None or time.monotonic() - self._discovered_at > 3600:
                document = httpx.get(
                    f"{self.issuer}/.well-known/openid-configuration", timeout=10
                ).json()
                if document.get("issuer", "").rstrip("/") != self.issuer:
                    raise jwt.InvalidIssuerError("discovery document names another issuer")
                self._jwks = jwt.PyJWKClient(document["jwks_uri"], cache_keys=True, lifespan=300)
                self._discovered_at = time.monotonic()
            return self._jwks

    @staticmethod
    def looks_like_jwt(token: str) -> bool:
        return token.count(".") == 2

    def verify(self, token: str) -> Principal:
        """Raises jwt.InvalidTokenError (or httpx.HTTPError) when the token is not acceptable."""
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ASYMMETRIC:
            raise jwt.InvalidAlgorithmError(f"algorithm {header.get('alg')!r} is not accepted")
        client = self._jwks_client()
        try:
            key = client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientError:
            # An unknown key id: the issuer may have rotated its keys since we last fetched.
            client.fetch_data()
            key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=ASYMMETRIC,
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway,
            options={"require": ["exp", "iss", "sub", "aud"]},
        )
        return self.principal(claims)

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        values = claims.get(self.role_claim) or []
        if isinstance(values, str):
            values = values.split()
        grants = tuple(
            Grant(role.permission, role.warehouses, role.namespaces)
            for value in _as_strings(values)
            if (role := self.roles.get(value)) is not None
        )
        subject = str(claims["sub"])
        name = str(claims.get(self.name_claim) or subject)
        return Principal(f"oidc:{subject}", name, grants, "oidc")


def _as_strings(values: Sequence[Any]) -> list[str]:
    return [str(v) for v in values]
