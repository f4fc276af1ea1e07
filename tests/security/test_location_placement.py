"""Locations under the namespace (issue 13, findings 3 and 6).

The attacker holds a read-write token narrowed to its own namespace. A location is a claim on
a folder (vended credentials cover it, purge deletes it), so the attacker may place tables,
views and namespace locations only inside its namespace's folder; and neither the overlap error
nor register tells it anything about what lies outside.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage.io import local_path
from tests.support.error_model import assert_error
from tests.support.payloads import SCHEMA, commit, create_table
from tests.support.server import CatalogServer

FORBIDDEN = "ForbiddenException"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    catalog_server = CatalogServer(tmp_path_factory.mktemp("placement")).start()
    yield catalog_server
    catalog_server.stop()


@dataclass
class World:
    root: str  # the warehouse's location
    mine: str  # the attacker's namespace
    theirs: str  # a namespace the attacker may not read
    admin: httpx.Client
    writer: httpx.Client  # read-write on the whole warehouse
    attacker: httpx.Client  # read-write narrowed to `mine`
    token_for: Any  # namespace levels -> a client narrowed to them


def make_token(server: CatalogServer, **grant: Any) -> str:
    response = httpx.post(
        f"{server.url}/admin/v1/tokens",
        json={"name": f"t{uuid.uuid4().hex[:8]}", "warehouses": ["default"], **grant},
        headers=server.auth_headers,
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


@pytest.fixture
def world(server: CatalogServer) -> Iterator[World]:
    clients: list[httpx.Client] = []

    def client(token: str) -> httpx.Client:
        http = httpx.Client(
            base_url=f"{server.url}/v1/default",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        clients.append(http)
        return http

    def narrowed_to(*namespaces: list[str]) -> httpx.Client:
        return client(make_token(server, permission="read-write", namespaces=list(namespaces)))

    admin = client(server.token)
    suffix = uuid.uuid4().hex[:8]
    mine, theirs = f"att_{suffix}", f"vic_{suffix}"
    for namespace in (mine, theirs):
        assert admin.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
    warehouses = httpx.get(f"{server.url}/admin/v1/warehouses", headers=server.auth_headers)
    root = next(w["location"] for w in warehouses.json()["warehouses"] if w["name"] == "default")
    yield World(
        root.rstrip("/"),
        mine,
        theirs,
        admin,
        client(make_token(server, permission="read-write")),
        narrowed_to([mine]),
        narrowed_to,
    )
    for http in clients:
        http.close()


def view_body(name: str, **extra: Any) -> dict[str, Any]:
    version = {
        "version-id": 1,
        "schema-id": 0,
        "timestamp-ms": 1,
        "summary": {},
        "representations": [{"type": "sql", "sql": "SELECT 1", "dialect": "spark"}],
        "default-namespace": [],
    }
    return {"name": name, "schema": SCHEMA, "view-version": version, **extra}


def files_under(location: str) -> dict[Path, bytes]:
    root = local_path(location)
    return {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}


def dropped_table(world: World, name: str) -> dict[str, Any]:
    """A table of `theirs`, dropped without purge: its files stay where they were."""
    created = create_table(world.admin, world.theirs, name)
    assert world.admin.delete(f"/namespaces/{world.theirs}/tables/{name}").status_code == 204
    return created


def same_answer(a: httpx.Response, a_location: str, b: httpx.Response, b_location: str) -> None:
    """Same status, type and message, the location each request named aside."""
    assert a.status_code == b.status_code, (a.text, b.text)
    first, second = a.json()["error"], b.json()["error"]
    assert first["type"] == second["type"], (first, second)
    assert first["message"].replace(a_location, "<location>") == second["message"].replace(
        b_location, "<location>"
    ), (first, second)


def names(http: httpx.Client, namespace: str, kind: str = "tables") -> list[str]:
    listed = http.get(f"/namespaces/{namespace}/{kind}").json()["identifiers"]
    return [entry["name"] for entry in listed]


def staged_create(location: str) -> dict[str, Any]:
    """A table created by a commit (what a create transaction sends after staging)."""
    return {
        "requirements": [{"type": "assert-create"}],
        "updates": [
            {"action": "assign-uuid", "uuid": str(uuid.uuid4())},
            {"action": "upgrade-format-version", "format-version": 2},
            {"action": "add-schema", "schema": SCHEMA},
            {"action": "set-current-schema", "schema-id": -1},
            {"action": "add-spec", "spec": {"spec-id": 0, "fields": []}},
            {"action": "set-default-spec", "spec-id": -1},
            {"action": "add-sort-order", "sort-order": {"order-id": 0, "fields": []}},
            {"action": "set-default-sort-order", "sort-order-id": -1},
            {"action": "set-location", "location": location},
        ],
    }


def test_a_table_or_view_in_another_namespaces_folder_is_refused(world: World) -> None:
    tables = f"/namespaces/{world.mine}/tables"
    for target in (
        f"{world.root}/{world.theirs}/planted",
        f"{world.root}/{world.theirs}",
        f"{world.root}/planted",
        f"{world.root}/{world.mine}",  # the namespace's folder itself: every table's parent
    ):
        body = {"name": "t", "schema": SCHEMA, "location": target}
        message = assert_error(world.attacker.post(tables, json=body), 403, FORBIDDEN)
        assert world.theirs not in message.replace(target, "")
        staged = {**body, "stage-create": True}
        assert_error(world.attacker.post(tables, json=staged), 403, FORBIDDEN)
        assert_error(world.attacker.post(f"{tables}/t", json=staged_create(target)), 403)
        view = view_body("v", location=target)
        assert_error(world.attacker.post(f"/namespaces/{world.mine}/views", json=view), 403)
    assert names(world.admin, world.mine) == []
    assert names(world.admin, world.mine, "views") == []

    inside = f"{world.root}/{world.mine}/chosen"
    assert create_table(world.attacker, world.mine, "ok", location=inside)
    assert create_table(world.attacker, world.mine, "default")


def test_a_table_over_a_dropped_tables_files_is_refused_and_the_files_remain(
    world: World,
) -> None:
    victim = dropped_table(world, "victim")["metadata"]["location"]
    before = files_under(victim)
    assert before, "the dropped table left its metadata behind"

    tables = f"/namespaces/{world.mine}/tables"
    body = {"name": "thief", "schema": SCHEMA, "location": victim}
    assert_error(world.attacker.post(tables, json=body), 403, FORBIDDEN)
    assert_error(world.attacker.post(tables, json={**body, "stage-create": True}), 403)
    assert_error(world.attacker.post(f"{tables}/thief", json=staged_create(victim)), 403)
    around = {**body, "location": victim.rsplit("/", 1)[0]}
    assert_error(world.attacker.post(tables, json=around), 403, FORBIDDEN)

    assert names(world.admin, world.mine) == []
    assert files_under(victim) == before


def test_set_location_into_another_namespace_is_refused_and_the_table_unchanged(
    world: World,
) -> None:
    create_table(world.attacker, world.mine, "t")
    table = f"/namespaces/{world.mine}/tables/t"
    before = world.admin.get(table).json()
    target = dropped_table(world, "victim")["metadata"]["location"]
    move = {"action": "set-location", "location": target}

    assert_error(commit(world.attacker, world.mine, "t", [move]), 403, FORBIDDEN)
    change = {"identifier": {"namespace": [world.mine], "name": "t"}, "updates": [move]}
    both = world.attacker.post("/transactions/commit", json={"table-changes": [change]})
    assert_error(both, 403, FORBIDDEN)
    assert world.admin.get(table).json() == before

    views = f"/namespaces/{world.mine}/views"
    assert world.attacker.post(views, json=view_body("v")).status_code == 200
    view_before = world.admin.get(f"{views}/v").json()
    replaced = world.attacker.post(f"{views}/v", json={"updates": [move]})
    assert_error(replaced, 403, FORBIDDEN)
    assert world.admin.get(f"{views}/v").json() == view_before

    within = {"action": "set-location", "location": f"{world.root}/{world.mine}/moved"}
    assert commit(world.attacker, world.mine, "t", [within]).status_code == 200


def test_a_namespace_location_in_another_namespaces_folder_is_refused(world: World) -> None:
    target = f"{world.root}/{world.theirs}/nested"
    child = {"namespace": [world.mine, "child"], "properties": {"location": target}}
    assert_error(world.attacker.post("/namespaces", json=child), 403, FORBIDDEN)
    assert world.admin.get(f"/namespaces/{world.mine}%1Fchild").status_code == 404

    properties = f"/namespaces/{world.mine}/properties"
    before = world.admin.get(f"/namespaces/{world.mine}").json()
    for location in (target, world.root, f"{world.root}/{world.mine}0"):
        moved = world.attacker.post(properties, json={"updates": {"location": location}})
        assert_error(moved, 403, FORBIDDEN)
    assert world.admin.get(f"/namespaces/{world.mine}").json() == before

    # At the root of a grant the parent is the warehouse, whose folder holds every namespace:
    # a namespace the attacker creates there stays in its own default folder.
    fresh = f"new_{uuid.uuid4().hex[:8]}"
    creator = world.token_for([fresh])
    for location in (target, world.root, f"{world.root}/{world.theirs}"):
        body = {"namespace": [fresh], "properties": {"location": location}}
        assert_error(creator.post("/namespaces", json=body), 403, FORBIDDEN)
    assert world.admin.get(f"/namespaces/{fresh}").status_code == 404

    own = {"location": f"{world.root}/{fresh}/custom"}
    assert creator.post("/namespaces", json={"namespace": [fresh], "properties": own}).is_success
    kids = {
        "namespace": [world.mine, "kids"],
        "properties": {"location": f"{world.root}/{world.mine}/k"},
    }
    assert world.attacker.post("/namespaces", json=kids).status_code == 200
    assert world.attacker.post(
        properties, json={"updates": {"location": f"{world.root}/{world.mine}/x"}}
    ).is_success


def test_register_of_a_file_in_another_namespace_is_refused_like_a_missing_one(
    world: World,
) -> None:
    existing = dropped_table(world, "victim")["metadata-location"]
    missing = f"{existing.rsplit('/', 1)[0]}/00009-{uuid.uuid4()}.metadata.json"
    register = f"/namespaces/{world.mine}/register"
    there = world.attacker.post(register, json={"name": "r", "metadata-location": existing})
    absent = world.attacker.post(register, json={"name": "r", "metadata-location": missing})
    assert_error(there, 403, FORBIDDEN)
    same_answer(there, existing, absent, missing)
    assert names(world.admin, world.mine) == []

    view = world.admin.post(f"/namespaces/{world.theirs}/views", json=view_body("v")).json()
    assert world.admin.delete(f"/namespaces/{world.theirs}/views/v").status_code == 204
    registered = world.attacker.post(
        f"/namespaces/{world.mine}/register-view",
        json={"name": "rv", "metadata-location": view["metadata-location"]},
    )
    assert_error(registered, 403, FORBIDDEN)


@pytest.mark.parametrize("who", ["attacker", "writer"])
def test_register_answers_alike_for_a_missing_file_and_one_that_is_not_metadata(
    world: World, who: str
) -> None:
    """No oracle for which keys exist: a missing file, bytes that are not UTF-8, text that is
    not JSON and JSON that is not metadata all get one answer."""
    folder = f"{world.root}/{world.mine}/junk-{uuid.uuid4().hex[:8]}"
    local_path(folder).mkdir(parents=True)
    contents = {"binary": b"PAR1\xff\xfe\x00", "text": b"id,city\n1,x\n", "json": b'{"a": 1}'}
    for name, data in contents.items():
        local_path(f"{folder}/{name}").write_bytes(data)
    http = getattr(world, who)
    for kind in ("register", "register-view"):

        def attempt(location: str, kind: str = kind) -> httpx.Response:
            body = {"name": "r", "metadata-location": location}
            return http.post(f"/namespaces/{world.mine}/{kind}", json=body)

        missing = f"{folder}/missing.metadata.json"
        answer = attempt(missing)
        assert_error(answer, 400, "BadRequestException")
        for name in contents:
            same_answer(answer, missing, attempt(f"{folder}/{name}"), f"{folder}/{name}")
    assert names(world.admin, world.mine) == []


def test_a_warehouse_wide_writer_may_still_place_anywhere_in_the_warehouse(world: World) -> None:
    """Not an attack: the rule narrows only narrowed callers."""
    elsewhere = f"{world.root}/{world.theirs}"
    create_table(world.writer, world.mine, "t", location=f"{elsewhere}/t-here")
    move = {"action": "set-location", "location": f"{elsewhere}/t-moved"}
    assert commit(world.writer, world.mine, "t", [move]).status_code == 200
    views = f"/namespaces/{world.mine}/views"
    assert world.writer.post(views, json=view_body("v", location=f"{elsewhere}/v")).is_success

    far = {"namespace": [world.mine, "far"], "properties": {"location": f"{elsewhere}/far"}}
    assert world.writer.post("/namespaces", json=far).status_code == 200
    moved = {"updates": {"location": f"{elsewhere}/far2"}}
    assert world.writer.post(f"/namespaces/{world.mine}/properties", json=moved).is_success

    dropped = dropped_table(world, "victim")["metadata-location"]
    register = {"name": "r", "metadata-location": dropped}
    assert world.writer.post(f"/namespaces/{world.mine}/register", json=register).is_success


def test_the_overlap_error_names_no_other_tables_location(world: World) -> None:
    # An admin may place a table of `theirs` inside the attacker's folder.
    hidden = f"{world.root}/{world.mine}/outer/hidden-secret"
    create_table(world.admin, world.theirs, "secret", location=hidden)
    tables = f"/namespaces/{world.mine}/tables"
    body = {"name": "t", "schema": SCHEMA, "location": f"{world.root}/{world.mine}/outer"}
    message = assert_error(world.attacker.post(tables, json=body), 400, "BadRequestException")
    assert "overlaps" in message
    assert "hidden-secret" not in message and world.theirs not in message

    victim = create_table(world.admin, world.theirs, "victim")["metadata"]["location"]
    around = {**body, "location": f"{world.root}/{world.theirs}"}
    message = assert_error(world.writer.post(tables, json=around), 400, "BadRequestException")
    assert victim not in message and victim.rsplit("/", 1)[1] not in message
