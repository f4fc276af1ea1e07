"""Real clients with real credentials: PyIceberg with token= and credential=, DuckDB with a
bearer token; a read-only token reads and is refused every write."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import ForbiddenError, OAuthError, UnauthorizedError

from tests.support import duckdb_iceberg
from tests.support.server import CatalogServer

ROWS = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"]})


def create_token(server: CatalogServer, **body: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/admin/v1/tokens", json=body, headers=server.auth_headers, timeout=30
    )
    assert response.status_code == 201, response.text
    token: dict[str, Any] = response.json()
    return token


@pytest.fixture
def seeded(catalog: RestCatalog, namespace: str) -> str:
    catalog.create_table(f"{namespace}.t", schema=ROWS.schema).append(ROWS)
    return namespace


def test_pyiceberg_with_token_reads_and_writes(catalog_server: CatalogServer, seeded: str) -> None:
    token = create_token(catalog_server, name="rw", permission="read-write", warehouses=["default"])
    catalog = RestCatalog("rw", uri=catalog_server.url, warehouse="default", token=token["token"])
    table = catalog.load_table(f"{seeded}.t")
    table.append(ROWS)
    assert catalog.load_table(f"{seeded}.t").scan().to_arrow().num_rows == 4


def test_pyiceberg_with_client_credentials(catalog_server: CatalogServer, seeded: str) -> None:
    token = create_token(
        catalog_server, name="oauth", permission="read-write", warehouses=["default"]
    )
    secret = token["token"].split("_", 2)[2]
    catalog = RestCatalog(
        "oauth", uri=catalog_server.url, warehouse="default", credential=f"{token['id']}:{secret}"
    )
    assert catalog.load_table(f"{seeded}.t").scan().to_arrow().num_rows == 2
    with pytest.raises(OAuthError, match="invalid_client"):
        RestCatalog(
            "bad", uri=catalog_server.url, warehouse="default", credential=f"{token['id']}:wrong"
        )


def test_read_only_token_reads_and_every_write_is_forbidden(
    catalog_server: CatalogServer, seeded: str
) -> None:
    token = create_token(catalog_server, name="ro", permission="read-only", warehouses=["default"])
    catalog = RestCatalog("ro", uri=catalog_server.url, warehouse="default", token=token["token"])
    table = catalog.load_table(f"{seeded}.t")
    assert table.scan().to_arrow().num_rows == 2
    assert catalog.list_tables(seeded) == [(seeded, "t")]

    writes = [
        lambda: table.append(ROWS),
        lambda: catalog.create_table(f"{seeded}.new", schema=ROWS.schema),
        lambda: catalog.drop_table(f"{seeded}.t"),
        lambda: catalog.create_namespace((seeded, "child")),
        lambda: catalog.update_namespace_properties(seeded, updates={"a": "b"}),
        lambda: catalog.rename_table(f"{seeded}.t", f"{seeded}.u"),
    ]
    for write in writes:
        with pytest.raises(ForbiddenError):
            write()
    assert catalog.load_table(f"{seeded}.t").scan().to_arrow().num_rows == 2


def test_revoked_token_stops_working_on_the_next_request(
    catalog_server: CatalogServer, seeded: str
) -> None:
    token = create_token(
        catalog_server, name="short", permission="read-only", warehouses=["default"]
    )
    catalog = RestCatalog("t", uri=catalog_server.url, warehouse="default", token=token["token"])
    catalog.load_table(f"{seeded}.t")
    revoked = httpx.delete(
        f"{catalog_server.url}/admin/v1/tokens/{token['id']}", headers=catalog_server.auth_headers
    )
    assert revoked.status_code == 204
    with pytest.raises(UnauthorizedError):
        catalog.load_table(f"{seeded}.t")


def test_duckdb_with_a_bearer_token(catalog_server: CatalogServer, seeded: str) -> None:
    token = create_token(
        catalog_server, name="duck", permission="read-only", warehouses=["default"]
    )
    connection = duckdb_iceberg.connect()
    connection.execute(f"CREATE SECRET icefloe (TYPE ICEBERG, TOKEN '{token['token']}')")
    connection.execute(
        f"ATTACH 'default' AS lake (TYPE ICEBERG, ENDPOINT '{catalog_server.url}', SECRET icefloe)"
    )
    rows = connection.execute(f"SELECT id, name FROM lake.{seeded}.t ORDER BY id").fetchall()
    assert rows == [(1, "a"), (2, "b")]


def test_oauth_errors_follow_rfc_6749(catalog_server: CatalogServer) -> None:
    url = f"{catalog_server.url}/v1/oauth/tokens"
    cases = [
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        ({"grant_type": "password", "username": "x"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "a",
                "client_secret": "b",
                "scope": "x",
            },
            400,
            "invalid_scope",
        ),
        (
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token": "not.a.jwt",
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            },
            400,
            "invalid_grant",
        ),
    ]
    for form, status, error in cases:
        response = httpx.post(url, data=form)
        assert response.status_code == status, (form, response.text)
        assert response.json()["error"] == error


@pytest.mark.parametrize("scope", [None, "catalog", "PRINCIPAL_ROLE:ALL"])
def test_the_scopes_clients_ask_for_by_default_are_granted_as_catalog(
    catalog_server: CatalogServer, scope: str | None
) -> None:
    """PyIceberg and Spark send `catalog`; DuckDB sends Polaris' `PRINCIPAL_ROLE:ALL`."""
    token = create_token(
        catalog_server,
        name=f"s{uuid.uuid4().hex[:4]}",
        permission="read-only",
        warehouses=["default"],
    )
    form = {
        "grant_type": "client_credentials",
        "client_id": token["id"],
        "client_secret": token["token"].split("_", 2)[2],
    }
    if scope is not None:
        form["scope"] = scope
    response = httpx.post(f"{catalog_server.url}/v1/oauth/tokens", data=form)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "catalog"


def test_token_exchange_refreshes_an_access_token(catalog_server: CatalogServer) -> None:
    token = create_token(catalog_server, name=f"r{uuid.uuid4().hex[:4]}", permission="admin")
    secret = token["token"].split("_", 2)[2]
    url = f"{catalog_server.url}/v1/oauth/tokens"
    first = httpx.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": token["id"],
            "client_secret": secret,
        },
    ).json()
    assert first["token_type"] == "bearer"
    refreshed = httpx.post(
        url,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": first["access_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        },
    )
    assert refreshed.status_code == 200
    whoami = httpx.get(
        f"{catalog_server.url}/admin/v1/whoami",
        headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"},
    )
    assert whoami.json()["id"] == token["id"]


def test_missing_or_bad_credentials_get_401_with_www_authenticate(
    catalog_server: CatalogServer,
) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = httpx.get(f"{catalog_server.url}/v1/default/namespaces", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["error"]["type"] == "NotAuthorizedException"
    assert httpx.get(f"{catalog_server.url}/healthz").status_code == 200
