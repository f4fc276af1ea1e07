"""Search (docs/governance.md): names, columns and properties, kept right by every change, on
SQLite and PostgreSQL. What a narrowed caller may not see is in test_authorization_matrix.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType

from tests.support.governance import undrop
from tests.support.server import CatalogServer

SCHEMA = Schema(
    NestedField(1, "order_id", LongType(), required=True),
    NestedField(2, "discount_code", StringType(), required=False),
)


@pytest.fixture
def search(catalog_server: CatalogServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{catalog_server.url}/admin/v1",
        headers=catalog_server.auth_headers,
        timeout=30,
    ) as client:
        yield client


def found(search: httpx.Client, query: str, **params: Any) -> list[tuple[str, ...]]:
    """The dotted names of what `query` finds, best first."""
    response = search.get("/search", params={"q": query, "warehouse": "default", **params})
    assert response.status_code == 200, response.text
    return [
        (*r["identifier"]["namespace"], r["identifier"]["name"])
        if "identifier" in r
        else tuple(r["namespace"])
        for r in response.json()["results"]
    ]


def test_a_table_is_found_by_a_column_name(
    catalog: RestCatalog, namespace: str, search: httpx.Client
) -> None:
    word = f"coupon{uuid.uuid4().hex[:6]}"
    schema = Schema(*SCHEMA.fields, NestedField(3, f"{word}_code", StringType(), required=False))
    catalog.create_table(f"{namespace}.orders", schema=schema)
    catalog.create_table(f"{namespace}.customers", schema=SCHEMA)

    assert found(search, word) == [(namespace, "orders")]
    response = search.get("/search", params={"q": f"{word} code"}).json()
    assert response["results"][0]["matching-columns"] == [f"{word}_code"]
    assert response["results"][0]["matched"] == ["columns"]


def test_search_follows_rename_drop_undrop_schema_and_property_changes(
    catalog: RestCatalog, namespace: str, search: httpx.Client, catalog_server: CatalogServer
) -> None:
    table = catalog.create_table(f"{namespace}.ledger", schema=SCHEMA)
    assert (namespace, "ledger") in found(search, "discount_code")

    with table.update_schema() as update:
        update.rename_column("discount_code", "rebate_code")
    assert (namespace, "ledger") not in found(search, "discount")
    assert (namespace, "ledger") in found(search, "rebate")

    table.transaction().set_properties(steward=f"team{namespace}").commit_transaction()
    assert found(search, f"team{namespace}") == [(namespace, "ledger")]

    catalog.rename_table(f"{namespace}.ledger", f"{namespace}.journal")
    assert found(search, f"team{namespace}") == [(namespace, "journal")]

    catalog.drop_table(f"{namespace}.journal")  # to the trash: not found
    assert found(search, f"team{namespace}") == []

    assert undrop(catalog_server, f"{namespace}.journal").status_code == 200
    assert found(search, f"team{namespace}") == [(namespace, "journal")]


def test_namespaces_are_found_by_name_and_property_and_leave_when_dropped(
    catalog: RestCatalog, namespace: str, search: httpx.Client
) -> None:
    catalog.create_namespace((namespace, "finance"), {"owner": f"o{namespace}"})
    assert found(search, f"o{namespace}") == [(namespace, "finance")]
    catalog.update_namespace_properties((namespace, "finance"), updates={"owner": "nobody"})
    assert found(search, f"o{namespace}") == []
    assert (namespace, "finance") in found(search, f"{namespace} finance")
    catalog.drop_namespace((namespace, "finance"))
    assert found(search, f"{namespace} finance") == []


def test_a_name_equal_to_the_query_ranks_first_and_pages_walk_every_hit(
    catalog: RestCatalog, namespace: str, search: httpx.Client
) -> None:
    word = f"w{uuid.uuid4().hex[:8]}"
    for name in (f"{word}_old", f"{word}_new", word, f"{word}_archive"):
        catalog.create_table(f"{namespace}.{name}", schema=SCHEMA)
    assert found(search, word)[0] == (namespace, word)

    walked: list[tuple[str, ...]] = []
    token = None
    while True:
        params: dict[str, Any] = {"q": word, "pageSize": 1}
        if token:
            params["pageToken"] = token
        page = search.get("/search", params=params).json()
        walked += [(namespace, r["identifier"]["name"]) for r in page["results"]]
        token = page["next-page-token"]
        if not token:
            break
    assert sorted(walked) == sorted(found(search, word))
    assert len(walked) == 4


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"q": "  _ "}, 400),
        ({"q": "x", "pageSize": 0}, 400),
        ({"q": "x", "pageToken": "not-a-token"}, 400),
        ({"q": "x", "warehouse": "nowhere"}, 404),
    ],
)
def test_bad_searches_are_refused_with_the_error_model(
    search: httpx.Client, params: dict[str, Any], status: int
) -> None:
    response = search.get("/search", params=params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == status
