"""Location safety: every rule that keeps a table's files its own, each tried and refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.payloads import SCHEMA, commit, create_table, set_properties


def location_of(http: httpx.Client, namespace: str, table: str) -> str:
    body: dict[str, Any] = http.get(f"/namespaces/{namespace}/tables/{table}").json()
    location: str = body["metadata"]["location"]
    return location


def try_create(http: httpx.Client, namespace: str, name: str, **extra: Any) -> httpx.Response:
    return http.post(
        f"/namespaces/{namespace}/tables", json={"name": name, "schema": SCHEMA, **extra}
    )


def test_a_table_cannot_live_inside_or_around_another(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "a")
    a = location_of(http, namespace, "a")
    inside = try_create(http, namespace, "inside", location=f"{a}/nested")
    assert inside.status_code == 400 and "overlaps" in inside.text
    same = try_create(http, namespace, "same", location=a)
    assert same.status_code == 400
    around = try_create(http, namespace, "around", location=a.rsplit("/", 1)[0])
    assert around.status_code == 400
    sibling = try_create(http, namespace, "sibling", location=a + "0")
    assert sibling.status_code == 200, "a sibling prefix (tbl1 vs tbl10) does not overlap"


def test_set_location_cannot_move_onto_another_table(http: httpx.Client, namespace: str) -> None:
    create_table(http, namespace, "a")
    create_table(http, namespace, "b")
    before = http.get(f"/namespaces/{namespace}/tables/b").json()
    onto = commit(
        http,
        namespace,
        "b",
        [{"action": "set-location", "location": location_of(http, namespace, "a")}],
    )
    assert onto.status_code == 400
    out = commit(
        http, namespace, "b", [{"action": "set-location", "location": "file:///tmp/elsewhere"}]
    )
    assert out.status_code == 400
    assert http.get(f"/namespaces/{namespace}/tables/b").json() == before


@pytest.mark.parametrize("key", ["write.data.path", "write.metadata.path"])
def test_writer_paths_stay_inside_the_table(http: httpx.Client, namespace: str, key: str) -> None:
    create_table(http, namespace, "t")
    t = location_of(http, namespace, "t")
    assert commit(http, namespace, "t", [set_properties(**{key: f"{t}/custom"})]).status_code == 200
    outside = commit(http, namespace, "t", [set_properties(**{key: t.rsplit("/", 1)[0] + "/x"})])
    assert outside.status_code == 400
    created = try_create(http, namespace, "u", properties={key: "file:///tmp/anywhere"})
    assert created.status_code == 400


@pytest.mark.parametrize(
    "suffix",
    ["/../escape", "//double", "/%2e%2e/escape", "/a%2Fb", "/ok?query=1", "/ok#fragment", "\\back"],
)
def test_tricky_locations_are_refused(http: httpx.Client, namespace: str, suffix: str) -> None:
    create_table(http, namespace, "probe")
    warehouse_root = location_of(http, namespace, "probe").rsplit("/", 2)[0]
    response = try_create(http, namespace, "t", location=warehouse_root + suffix)
    assert response.status_code == 400, (suffix, response.text)


def test_other_schemes_are_refused(http: httpx.Client, namespace: str) -> None:
    for location in ("gs://bucket/t", "http://host/t", "hdfs://nn/t", "relative/path"):
        assert try_create(http, namespace, "t", location=location).status_code == 400, location
