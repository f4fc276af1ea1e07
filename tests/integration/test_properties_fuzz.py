"""Random identifiers, property maps and paging parameters: each request is either refused with
a 400 ErrorModel or does exactly what it says (what is stored is what comes back), on both
backends. Never a 5xx.

Examples are derandomized, so a run is repeatable; each example works under a namespace of its
own, so examples never meet each other (or other tests) on the shared server.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.error_model import assert_error
from tests.support.payloads import SCHEMA

# The `http` fixture is a client to a session-wide server: nothing to reset between examples.
FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TRICKY_NAMES = [
    "",
    " ",
    ".",
    "..",
    "...",
    "%2e%2e",
    "%2F",
    "a/b",
    "a\\b",
    "a?b",
    "a#b",
    "a%b",
    "100%",
    "a\x1fb",
    "a\x00b",
    "\t",
    "\u2028",
    "\ufeff",
    "\ufffd",
    "😀",
    "e\u0301",
    "x" * 255,
    "x" * 256,
    "é" * 127,
    "é" * 128,
    "null",
    "default",
]
# Arbitrary text, text made of the characters that mean something in paths and URLs, and
# the classic troublemakers.
names = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("./%?#\\ \x00\x1f\x7faé😀"), max_size=12),
    st.sampled_from(TRICKY_NAMES),
)
property_maps = st.dictionaries(st.text(max_size=30), st.text(max_size=60), max_size=8)


def fresh_namespace(http: httpx.Client) -> str:
    name = f"fz_{uuid.uuid4().hex[:12]}"
    created = http.post("/namespaces", json={"namespace": [name]})
    assert created.status_code == 200, created.text
    return name


def path_of(*levels: str) -> str:
    return "%1F".join(quote(level, safe="") for level in levels)


@FUZZ
@given(level=names)
def test_a_namespace_level_round_trips_or_is_refused(http: httpx.Client, level: str) -> None:
    parent = fresh_namespace(http)
    created = http.post("/namespaces", json={"namespace": [parent, level]})
    event(f"status {created.status_code}")
    if created.status_code == 400:
        assert_error(created, 400, "BadRequestException")
        children = http.get("/namespaces", params={"parent": parent}).json()["namespaces"]
        assert children == []
        return
    assert created.status_code == 200, created.text
    assert created.json()["namespace"] == [parent, level]
    loaded = http.get(f"/namespaces/{path_of(parent, level)}")
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["namespace"] == [parent, level]
    children = http.get("/namespaces", params={"parent": parent}).json()["namespaces"]
    assert children == [[parent, level]]
    assert http.head(f"/namespaces/{path_of(parent, level)}").status_code == 204
    assert http.delete(f"/namespaces/{path_of(parent, level)}").status_code == 204


@FUZZ
@given(name=names)
def test_a_table_name_round_trips_or_is_refused(http: httpx.Client, name: str) -> None:
    namespace = fresh_namespace(http)
    tables = f"/namespaces/{namespace}/tables"
    created = http.post(tables, json={"name": name, "schema": SCHEMA})
    event(f"status {created.status_code}")
    if created.status_code == 400:
        assert_error(created, 400)
        assert http.get(tables).json()["identifiers"] == []
        return
    assert created.status_code == 200, created.text
    loaded = http.get(f"{tables}/{quote(name, safe='')}")
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["metadata-location"] == created.json()["metadata-location"]
    assert http.get(tables).json()["identifiers"] == [{"namespace": [namespace], "name": name}]
    renamed = f"{name}_2"[-255:] if len(name.encode()) < 250 else "renamed"
    moved = http.post(
        "/tables/rename",
        json={
            "source": {"namespace": [namespace], "name": name},
            "destination": {"namespace": [namespace], "name": renamed},
        },
    )
    assert moved.status_code == 204, moved.text
    assert http.head(f"{tables}/{quote(renamed, safe='')}").status_code == 204


@FUZZ
@given(properties=property_maps, updates=property_maps, removals=st.lists(st.text(max_size=30)))
def test_namespace_properties_are_stored_as_sent(
    http: httpx.Client,
    properties: dict[str, str],
    updates: dict[str, str],
    removals: list[str],
) -> None:
    """Property keys and values are free text, NUL and all, on SQLite and PostgreSQL alike."""
    name = f"fz_{uuid.uuid4().hex[:12]}"
    created = http.post("/namespaces", json={"namespace": [name], "properties": properties})
    assert created.status_code == 200, created.text
    assert http.get(f"/namespaces/{name}").json()["properties"] == properties

    changed = http.post(
        f"/namespaces/{name}/properties", json={"updates": updates, "removals": removals}
    )
    if set(updates) & set(removals):
        assert_error(changed, 400, "BadRequestException")
        assert http.get(f"/namespaces/{name}").json()["properties"] == properties
        return
    assert changed.status_code == 200, changed.text
    expected = {k: v for k, v in properties.items() if k not in removals} | updates
    assert http.get(f"/namespaces/{name}").json()["properties"] == expected
    answer: dict[str, Any] = changed.json()
    assert sorted(answer["updated"]) == sorted(updates)
    assert set(answer["removed"]) == set(removals) & set(properties)
    assert set(answer["missing"] or []) == set(removals) - set(properties)


@FUZZ
@given(
    page_size=st.one_of(st.none(), st.integers(), st.text(max_size=12)),
    page_token=st.one_of(st.none(), st.text(max_size=40), st.binary(max_size=30).map(bytes.hex)),
)
def test_paging_parameters_page_or_are_refused(
    http: httpx.Client, page_size: int | str | None, page_token: str | None
) -> None:
    params = {"pageSize": page_size, "pageToken": page_token}
    response = http.get("/namespaces", params={k: v for k, v in params.items() if v is not None})
    if response.status_code == 400:
        assert_error(response, 400, "BadRequestException")
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["namespaces"], list)
    if isinstance(page_size, int):
        assert len(body["namespaces"]) <= page_size
