"""Fuzzing the other suites leave out (see tests/integration/test_spec_conformance.py,
test_hostile_input.py and test_properties_fuzz.py for the rest):

- schemathesis against OUR OpenAPI document (`/openapi.json`: admin API, OAuth, signing and
  everything the official spec does not describe), on a server of its own: never a 5xx;
- hypothesis over table update lists: a commit either applies exactly what it lists (checked
  against a model of the properties) or is refused with a 4xx ErrorModel and changes nothing;
- hypothesis over tampered pagination tokens (real tokens, mutated) on every listing: a page of
  existing names or a 400, never a 5xx.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from tests.support.error_model import assert_error
from tests.support.payloads import SCHEMA
from tests.support.server import CatalogServer

OWN_EXAMPLES = 6
OWN_OPENAPI = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- schemathesis against our own OpenAPI document ------------------------------------------


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    """Generated admin calls may delete warehouses or revoke tokens: not on a shared server."""
    server = CatalogServer(tmp_path_factory.mktemp("own-openapi")).start()
    yield server
    server.stop()


def test_our_openapi_document_never_leads_to_a_server_error(own_server: CatalogServer) -> None:
    config = SchemathesisConfig.from_dict(
        {
            "seed": 20_251_125,
            "parameters": {"path.prefix": "default"},
            "generation": {"deterministic": True, "with-security-parameters": False},
        }
    )
    schema = schemathesis.openapi.from_url(f"{own_server.url}/openapi.json", config=config)
    tried: list[str] = []
    failures: list[str] = []

    def fuzz(operation: Any) -> None:
        @settings(OWN_OPENAPI, max_examples=OWN_EXAMPLES)
        @given(case=operation.as_strategy())
        def call(case: Case[Any]) -> None:
            tried.append(operation.label)
            case.call_and_validate(
                base_url=own_server.url,
                headers=own_server.auth_headers,
                checks=[not_a_server_error],
                timeout=30,
            )

        try:
            call()
        except (Exception, FailureGroup) as error:  # go on: report every failing operation
            details = [str(e)[:600] for e in getattr(error, "exceptions", [error])]
            failures.append(f"{operation.label}: {details}")

    for result in schema.get_all_operations():
        fuzz(result.ok())  # type: ignore[union-attr]  # an Err raises here, as it should
    operations = len(set(tried))
    print(f"\nown OpenAPI: {len(tried)} generated requests over {operations} operations")
    assert failures == []
    assert operations > 20


# -- update lists ---------------------------------------------------------------------------

keys = st.one_of(st.sampled_from(["a", "b", "owner", "write.format.default"]), st.text(max_size=8))
values = st.text(max_size=20)
garbage = st.one_of(
    st.none(), st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=3)
)
updates = st.one_of(
    st.builds(lambda u: {"action": "set-properties", "updates": u}, st.dictionaries(keys, values)),
    st.builds(lambda r: {"action": "remove-properties", "removals": r}, st.lists(keys)),
    st.builds(lambda v: {"action": "upgrade-format-version", "format-version": v}, garbage),
    st.builds(lambda v: {"action": "set-current-schema", "schema-id": v}, garbage),
    st.builds(lambda v: {"action": "set-default-spec", "spec-id": v}, garbage),
    st.builds(lambda v: {"action": "set-default-sort-order", "sort-order-id": v}, garbage),
    st.builds(lambda v: {"action": "assign-uuid", "uuid": v}, garbage),
    st.builds(lambda v: {"action": "set-location", "location": v}, garbage),
    st.builds(lambda v: {"action": "remove-snapshots", "snapshot-ids": v}, garbage),
    st.builds(lambda v: {"action": "remove-snapshot-ref", "ref-name": v}, garbage),
    st.builds(
        lambda v: {
            "action": "set-snapshot-ref",
            "ref-name": "main",
            "snapshot-id": v,
            "type": "branch",
        },
        garbage,
    ),
    st.builds(lambda a, v: {"action": a, "value": v}, st.text(max_size=12), garbage),
)


def expected_properties(start: dict[str, str], changes: list[dict[str, Any]]) -> dict[str, str]:
    properties = dict(start)
    for update in changes:
        if update["action"] == "set-properties":
            properties.update(update["updates"])
        elif update["action"] == "remove-properties":
            for key in update["removals"]:
                properties.pop(key, None)
    return properties


@pytest.fixture(scope="module")
def update_table(own_server: CatalogServer) -> tuple[httpx.Client, str]:
    http = httpx.Client(
        base_url=f"{own_server.url}/v1/default", headers=own_server.auth_headers, timeout=30
    )
    namespace = f"upd_{uuid.uuid4().hex[:8]}"
    assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
    created = http.post(f"/namespaces/{namespace}/tables", json={"name": "t", "schema": SCHEMA})
    assert created.status_code == 200, created.text
    return http, f"/namespaces/{namespace}/tables/t"


@FUZZ
@given(changes=st.lists(updates, max_size=5))
def test_an_update_list_applies_exactly_or_changes_nothing(
    update_table: tuple[httpx.Client, str], changes: list[dict[str, Any]]
) -> None:
    http, path = update_table
    before = http.get(path).json()
    response = http.post(path, json={"requirements": [], "updates": changes})
    after = http.get(path).json()
    if response.status_code == 200:
        event("applied")
        assert after["metadata"]["properties"] == expected_properties(
            before["metadata"]["properties"], changes
        )
        assert after["metadata-location"] == response.json()["metadata-location"]
        return
    event(f"refused {response.status_code}")
    assert 400 <= response.status_code < 500, response.text
    assert_error(response, response.status_code)
    assert after == before


# -- pagination tokens ----------------------------------------------------------------------


Listing = tuple[str, dict[str, str], str, set[str]]  # path, query, key of the names, names


@pytest.fixture(scope="module")
def listings(own_server: CatalogServer) -> tuple[httpx.Client, list[Listing]]:
    """Three listings, each with every name it holds."""
    http = httpx.Client(
        base_url=f"{own_server.url}/v1/default", headers=own_server.auth_headers, timeout=30
    )
    namespace = f"pg_{uuid.uuid4().hex[:8]}"
    assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
    names = {f"n{i}" for i in range(5)}
    for name in names:
        table = http.post(f"/namespaces/{namespace}/tables", json={"name": name, "schema": SCHEMA})
        assert table.status_code == 200, table.text
        assert http.post("/namespaces", json={"namespace": [namespace, name]}).status_code == 200
    return http, [
        (f"/namespaces/{namespace}/tables", {}, "identifiers", names),
        (f"/namespaces/{namespace}/views", {}, "identifiers", set()),
        ("/namespaces", {"parent": namespace}, "namespaces", names),
    ]


def _real_tokens(http: httpx.Client, listing: Listing) -> list[str]:
    path, query, _, _ = listing
    tokens: list[str] = []
    token = ""
    while True:
        page = http.get(path, params={**query, "pageSize": "2", "pageToken": token}).json()
        token = page.get("next-page-token")
        if not token:
            return tokens
        tokens.append(token)


mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 200), st.characters(codec="ascii")),
    st.tuples(st.just("cut"), st.integers(0, 200), st.just("")),
    st.tuples(st.just("append"), st.just(0), st.text(max_size=8)),
)


def mutate(token: str, how: tuple[str, int, str]) -> str:
    kind, at, text = how
    at = at % (len(token) + 1)
    if kind == "flip":
        return token[:at] + text + token[at + 1 :]
    if kind == "cut":
        return token[:at]
    return token + text


@FUZZ
@given(which=st.integers(0, 2), source=st.sampled_from([0, 2]), how=mutations)
def test_a_tampered_page_token_pages_or_is_refused(
    listings: tuple[httpx.Client, list[Listing]],
    which: int,
    source: int,
    how: tuple[str, int, str],
) -> None:
    """A real token, altered, and sent to the listing it came from or to another one."""
    http, all_listings = listings
    tokens = _real_tokens(http, all_listings[source])
    assert tokens, "five names in pages of two: there must be a next page"
    token = mutate(tokens[0], how)
    path, query, key, names = all_listings[which]
    response = http.get(path, params={**query, "pageToken": token, "pageSize": "2"})
    if response.status_code == 400:
        event("refused")
        assert_error(response, 400)
        return
    event("paged")
    assert response.status_code == 200, response.text
    page = response.json()[key]
    listed = {item["name"] if isinstance(item, dict) else item[-1] for item in page}
    assert listed <= names
    assert len(page) <= 2
