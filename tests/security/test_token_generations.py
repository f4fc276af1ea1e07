"""Rotating or revoking an API token ends the sessions minted from it: an OAuth2 access token
carries the generation of the secret it came from (`gen`), and is refused (401) once that is
not the token's current generation, at once in the server that rotated and within the token
cache's second in every other; a refresh by token exchange never outlives its subject.

The attacker holds an access token (or the old secret) of a token an admin has since rotated.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import text

from catalog.auth.access_tokens import ALGORITHM, ISSUER
from catalog.auth.secrets import hash_secret, new_token
from catalog.service.tokens import TOKEN_CACHE_SECONDS
from catalog.store.database import create_catalog_engine
from catalog.store.migrate import alembic_config, upgrade
from tests.support.error_model import assert_error
from tests.support.postgres import PostgresCluster
from tests.support.server import CatalogServer, server_pair

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
# Another process may trust a token row it read for TOKEN_CACHE_SECONDS; the rest is room for a
# loaded machine (two cores shared by several test runs).
FLIP_BOUND_SECONDS = TOKEN_CACHE_SECONDS + 2.0
SIGNING_KEY = secrets.token_urlsafe(48)


def create_token(server: CatalogServer, **body: Any) -> dict[str, Any]:
    body = {"name": "etl", "permission": "read-only", "warehouses": ["default"], **body}
    response = httpx.post(
        f"{server.url}/admin/v1/tokens", json=body, headers=server.auth_headers, timeout=30
    )
    assert response.status_code == 201, response.text
    token: dict[str, Any] = response.json()
    return token


def secret_of(bearer: str) -> str:
    return bearer.split("_", 2)[2]


def client_credentials(server: CatalogServer, token_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/oauth/tokens",
        data={"grant_type": "client_credentials", "client_id": token_id, "client_secret": secret},
        timeout=30,
    )


def access_token(server: CatalogServer, token: dict[str, Any]) -> str:
    response = client_credentials(server, token["id"], secret_of(token["token"]))
    assert response.status_code == 200, response.text
    value: str = response.json()["access_token"]
    return value


def exchange(
    server: CatalogServer, subject: str, basic: tuple[str, str] | None = None
) -> httpx.Response:
    headers = {}
    if basic is not None:
        pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    return httpx.post(
        f"{server.url}/v1/oauth/tokens",
        data={
            "grant_type": EXCHANGE,
            "subject_token": subject,
            "subject_token_type": ACCESS_TOKEN,
        },
        headers=headers,
        timeout=30,
    )


def namespaces(server: CatalogServer, bearer: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/v1/default/namespaces",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=30,
    )


def rotate(server: CatalogServer, token_id: str) -> str:
    response = httpx.post(
        f"{server.url}/admin/v1/tokens/{token_id}/rotate", headers=server.auth_headers, timeout=30
    )
    assert response.status_code == 200, response.text
    bearer: str = response.json()["token"]
    return bearer


def expiry(access: str) -> int:
    return int(jwt.decode(access, options={"verify_signature": False})["exp"])


def mint(key: str, **claims: Any) -> str:
    """An access token signed with the servers' configured key: one an older server minted, or
    one that has expired, which no client could otherwise produce on demand."""
    now = int(time.time())
    base = {"iss": ISSUER, "scope": "catalog", "iat": now, "exp": now + 600}
    return jwt.encode({**base, **claims}, key, algorithm=ALGORITHM)


def assert_refused(response: httpx.Response) -> None:
    assert_error(response, 401, "NotAuthorizedException")


# One server (SQLite and PostgreSQL): rotation and revocation through it end its sessions.


def test_client_credentials_access_token_is_refused_right_after_rotate(
    catalog_server: CatalogServer,
) -> None:
    token = create_token(catalog_server)
    old = access_token(catalog_server, token)
    assert namespaces(catalog_server, old).status_code == 200  # its row is now cached

    new_bearer = rotate(catalog_server, token["id"])

    assert_refused(namespaces(catalog_server, old))
    refused = client_credentials(catalog_server, token["id"], secret_of(token["token"]))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    fresh = access_token(catalog_server, {"id": token["id"], "token": new_bearer})
    assert namespaces(catalog_server, fresh).status_code == 200
    assert namespaces(catalog_server, new_bearer).status_code == 200


def test_client_credentials_access_token_is_refused_right_after_revoke(
    catalog_server: CatalogServer,
) -> None:
    token = create_token(catalog_server)
    access = access_token(catalog_server, token)
    refreshed = exchange(catalog_server, access)
    assert refreshed.status_code == 200, refreshed.text
    assert namespaces(catalog_server, access).status_code == 200

    revoked = httpx.delete(
        f"{catalog_server.url}/admin/v1/tokens/{token['id']}",
        headers=catalog_server.auth_headers,
        timeout=30,
    )
    assert revoked.status_code == 204

    assert_refused(namespaces(catalog_server, access))
    assert_refused(namespaces(catalog_server, refreshed.json()["access_token"]))
    again = exchange(catalog_server, access)
    assert again.status_code == 401 and again.json()["error"] == "invalid_grant"


def test_exchanged_access_token_is_refused_after_rotate_and_cannot_be_refreshed(
    catalog_server: CatalogServer,
) -> None:
    token = create_token(catalog_server)
    first = access_token(catalog_server, token)
    exchanged = exchange(catalog_server, first)
    assert exchanged.status_code == 200, exchanged.text
    second = exchanged.json()["access_token"]
    assert namespaces(catalog_server, second).status_code == 200

    rotate(catalog_server, token["id"])

    assert_refused(namespaces(catalog_server, second))
    for subject in (first, second):
        refused = exchange(catalog_server, subject)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "invalid_grant"
        assert "access_token" not in refused.json()


def test_exchange_never_extends_the_subject_lifetime(catalog_server: CatalogServer) -> None:
    token = create_token(catalog_server)
    subject = access_token(catalog_server, token)
    time.sleep(1.1)  # a fresh lifetime would now end at least a second after the subject's
    chain = [subject]
    for _ in range(3):
        response = exchange(catalog_server, chain[-1])
        assert response.status_code == 200, response.text
        body = response.json()
        chain.append(body["access_token"])
        assert expiry(chain[-1]) <= expiry(subject)
        assert body["expires_in"] <= expiry(subject) - int(time.time()) + 1
    assert namespaces(catalog_server, chain[-1]).status_code == 200


# Two `icefloe serve` processes sharing one PostgreSQL database and a configured signing key.


@pytest.fixture(scope="module")
def pair(
    postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CatalogServer, CatalogServer]]:
    database_url = postgres.create_database()
    env = {"ICEFLOE_JWT_SIGNING_KEY": SIGNING_KEY}
    dirs = (tmp_path_factory.mktemp("gen-a"), tmp_path_factory.mktemp("gen-b"))
    with server_pair(dirs, database_url, env) as servers:
        yield servers


def refused_within(server: CatalogServer, bearer: str, since: float) -> float:
    """Seconds from `since` until `server` refuses `bearer`; fails past FLIP_BOUND_SECONDS."""
    while True:
        status = namespaces(server, bearer).status_code
        elapsed = time.monotonic() - since
        if status == 401:
            return elapsed
        assert status == 200, status
        assert elapsed < FLIP_BOUND_SECONDS, f"still accepted {elapsed:.1f} s after rotation"
        time.sleep(0.05)


def test_rotation_through_one_server_ends_access_tokens_on_the_other_within_a_second(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    one, other = pair
    token = create_token(one)
    access = access_token(one, token)
    refreshed = exchange(other, access)  # each accepts the other's tokens
    assert refreshed.status_code == 200, refreshed.text
    exchanged = refreshed.json()["access_token"]
    for bearer in (access, exchanged):
        assert namespaces(other, bearer).status_code == 200  # now cached in the other

    new_bearer = rotate(one, token["id"])
    rotated_at = time.monotonic()

    assert_refused(namespaces(one, access))
    refused_within(other, access, rotated_at)
    refused_within(other, exchanged, rotated_at)
    # The other server's workers (two on PostgreSQL here) each trust the row they read before
    # the rotation for at most TOKEN_CACHE_SECONDS: once that has passed, whichever worker
    # answers refuses both access tokens.
    time.sleep(max(0.0, rotated_at + TOKEN_CACHE_SECONDS - time.monotonic()))
    for bearer in (access, exchanged):
        for _ in range(6):
            assert_refused(namespaces(other, bearer))
    fresh = access_token(other, {"id": token["id"], "token": new_bearer})
    assert namespaces(one, fresh).status_code == 200
    assert namespaces(other, fresh).status_code == 200


def test_rotation_from_the_command_line_reaches_every_server_within_a_second(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    one, other = pair
    token = create_token(one)
    access = access_token(one, token)
    assert namespaces(one, access).status_code == 200
    assert namespaces(other, access).status_code == 200
    assert one.database_url is not None

    cli = [sys.executable, "-m", "catalog", "token", "rotate", token["id"]]
    rotated = subprocess.run(
        [*cli, "--data-dir", str(one.data_dir), "--database-url", one.database_url],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    rotated_at = time.monotonic()

    for server in (one, other):
        refused_within(server, access, rotated_at)
    assert "within a second" in rotated.stdout  # what the operator is told is what happened


# Tokens only the servers' key can make: expired, or minted before generations.


def test_refresh_of_an_expired_access_token_is_refused(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    server, _ = pair
    token = create_token(server)  # a new token is at generation 1
    now = int(time.time())
    expired = mint(SIGNING_KEY, sub=token["id"], gen=1, iat=now - 60, exp=now - 1)

    assert_refused(namespaces(server, expired))
    refused = exchange(server, expired)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_grant"


def test_expired_token_renewed_with_the_secret_gets_a_new_session_and_the_old_secret_none(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    """Iceberg Java renews an expired token by exchange with its client credentials (Basic):
    that is a new session of the current secret, and nothing for a rotated one."""
    server, _ = pair
    token = create_token(server)
    now = int(time.time())
    expired = mint(SIGNING_KEY, sub=token["id"], gen=1, iat=now - 60, exp=now - 1)

    renewed = exchange(server, expired, basic=(token["id"], secret_of(token["token"])))
    assert renewed.status_code == 200, renewed.text
    assert expiry(renewed.json()["access_token"]) > now
    assert namespaces(server, renewed.json()["access_token"]).status_code == 200

    rotate(server, token["id"])
    refused = exchange(server, expired, basic=(token["id"], secret_of(token["token"])))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def test_access_token_from_before_generations_is_refused(
    pair: tuple[CatalogServer, CatalogServer],
) -> None:
    """Minted before the upgrade (no `gen`): it cannot prove it is not of a secret rotated
    before the upgrade, so it is refused; it would have lived at most its lifetime anyway."""
    server, _ = pair
    token = create_token(server)
    legacy = mint(SIGNING_KEY, sub=token["id"])
    assert_refused(namespaces(server, legacy))
    refused = exchange(server, legacy)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_grant"
    assert namespaces(server, access_token(server, token)).status_code == 200


# The migration: tokens made before it keep working, at generation 1.


def test_upgrade_keeps_existing_tokens_working_at_generation_one(tmp_path: Path) -> None:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}", pool_size=1)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    parts = new_token()
    tokens = sa.table(
        "api_tokens",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("secret_hash", sa.String),
        sa.column("permission", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    with engine.begin() as connection:
        connection.execute(
            tokens.insert().values(
                id=parts.token_id,
                name="made before 0005",
                secret_hash=hash_secret(parts.secret),
                permission="admin",
                created_at=datetime.now(UTC),
            )
        )
    upgrade(engine)
    with engine.connect() as connection:
        generation = connection.execute(
            text("SELECT generation FROM api_tokens WHERE id = :id"), {"id": parts.token_id}
        ).scalar_one()
    engine.dispose()
    assert generation == 1

    server = CatalogServer(tmp_path).start()
    try:
        token = {"id": parts.token_id, "token": parts.bearer}
        assert namespaces(server, parts.bearer).status_code == 200
        access = access_token(server, token)
        assert namespaces(server, access).status_code == 200
        rotate_headers = {"Authorization": f"Bearer {parts.bearer}"}
        rotated = httpx.post(
            f"{server.url}/admin/v1/tokens/{parts.token_id}/rotate",
            headers=rotate_headers,
            timeout=30,
        )
        assert rotated.status_code == 200, rotated.text
        assert_refused(namespaces(server, access))
    finally:
        server.stop()

    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}", pool_size=1)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    with engine.connect() as connection:
        columns = [row[1] for row in connection.execute(text("PRAGMA table_info(api_tokens)"))]
    engine.dispose()
    assert "generation" not in columns and "secret_hash" in columns
