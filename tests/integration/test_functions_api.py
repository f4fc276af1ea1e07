"""Catalog functions over HTTP: the spec's listFunctions and loadFunction, the admin API's
create, replace and drop, and `icefloe function`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from catalog.cli import app
from tests.support.error_model import assert_error
from tests.support.governance import (
    admin,
    audit_operations,
    expire_now,
    new_warehouse,
    set_retention,
    trash,
    undrop,
)
from tests.support.server import CatalogServer


def definition(sql: str = "x + 1", param_type: Any = "int", **extra: Any) -> dict[str, Any]:
    return {
        "parameters": [{"name": "x", "type": param_type, "doc": "the input"}],
        "return-type": "int",
        "representations": [{"type": "sql", "dialect": "spark", "sql": sql}],
        **extra,
    }


def functions_path(server: CatalogServer, namespace: str) -> str:
    return f"{server.url}/admin/v1/warehouses/default/namespaces/{namespace}/functions"


def create_function(
    server: CatalogServer, namespace: str, name: str, *definitions: dict[str, Any]
) -> httpx.Response:
    body = {"name": name, "definitions": list(definitions) or [definition()], "doc": "adds"}
    return httpx.post(functions_path(server, namespace), json=body, headers=server.auth_headers)


def replace_function(
    server: CatalogServer, namespace: str, name: str, *definitions: dict[str, Any]
) -> httpx.Response:
    return httpx.put(
        f"{functions_path(server, namespace)}/{name}",
        json={"definitions": list(definitions)},
        headers=server.auth_headers,
    )


def test_a_created_function_is_listed_and_loaded_as_the_spec_shapes_it(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    created = create_function(
        catalog_server,
        namespace,
        "add_one",
        definition("x + 1"),
        definition("x + 1.0", "float", deterministic=True),
    )
    assert created.status_code == 200, created.text

    listed = http.get(f"/namespaces/{namespace}/functions")
    assert listed.status_code == 200, listed.text
    assert listed.json()["identifiers"] == [[namespace, "add_one"]]

    loaded = http.get(f"/namespaces/{namespace}/functions/add_one")
    assert loaded.status_code == 200, loaded.text
    assert loaded.json() == created.json()
    metadata = loaded.json()["metadata"]
    assert metadata["format-version"] == 1
    uuid.UUID(metadata["function-uuid"])
    assert metadata["doc"] == "adds"
    assert [d["definition-id"] for d in metadata["definitions"]] == ["int", "float"]
    first = metadata["definitions"][0]
    assert first["function-type"] == "udf"
    assert first["current-version-id"] == 1
    assert [v["version-id"] for v in first["versions"]] == [1]
    assert first["versions"][0]["representations"] == [
        {"type": "sql", "dialect": "spark", "sql": "x + 1"}
    ]
    assert metadata["definition-log"][0]["definition-versions"] == [
        {"definition-id": "int", "version-id": 1},
        {"definition-id": "float", "version-id": 1},
    ]


def test_functions_are_listed_page_by_page(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    names = [f"f{i}" for i in range(5)]
    for name in names:
        assert create_function(catalog_server, namespace, name).status_code == 200
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"pageSize": 2, **({"pageToken": token} if token else {})}
        page = http.get(f"/namespaces/{namespace}/functions", params=params).json()
        seen += [identifier[-1] for identifier in page["identifiers"]]
        pages += 1
        token = page.get("next-page-token")
        if not token:
            break
    assert seen == names
    assert pages == 3
    assert_error(http.get(f"/namespaces/{namespace}/functions", params={"pageSize": 0}), 400)


def test_replace_makes_a_new_version_and_keeps_the_old_one(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_function(catalog_server, namespace, "f", definition("x + 1"), definition("x", "long"))
    before = http.get(f"/namespaces/{namespace}/functions/f").json()["metadata"]

    replaced = replace_function(
        catalog_server, namespace, "f", definition("x + 2"), definition("x", "long")
    )

    assert replaced.status_code == 200, replaced.text
    metadata = http.get(f"/namespaces/{namespace}/functions/f").json()["metadata"]
    assert metadata["function-uuid"] == before["function-uuid"]
    changed, unchanged = metadata["definitions"]
    assert changed["current-version-id"] == 2
    assert [v["representations"][0]["sql"] for v in changed["versions"]] == ["x + 1", "x + 2"]
    assert unchanged["versions"] == before["definitions"][1]["versions"]
    assert [entry["definition-versions"] for entry in metadata["definition-log"]] == [
        [{"definition-id": "int", "version-id": 1}, {"definition-id": "long", "version-id": 1}],
        [{"definition-id": "int", "version-id": 2}, {"definition-id": "long", "version-id": 1}],
    ]


def test_a_dropped_function_is_gone(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_function(catalog_server, namespace, "f")
    url = f"{functions_path(catalog_server, namespace)}/f"
    assert httpx.delete(url, headers=catalog_server.auth_headers).status_code == 204
    assert_error(http.get(f"/namespaces/{namespace}/functions/f"), 404, "NoSuchFunctionException")
    assert http.get(f"/namespaces/{namespace}/functions").json()["identifiers"] == []
    assert_error(httpx.delete(url, headers=catalog_server.auth_headers), 404)


def test_missing_functions_and_namespaces_are_404_with_the_spec_types(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    assert_error(
        http.get(f"/namespaces/{namespace}/functions/nope"), 404, "NoSuchFunctionException"
    )
    assert_error(http.get("/namespaces/no_such_ns/functions/f"), 404, "NoSuchNamespaceException")
    assert_error(http.get("/namespaces/no_such_ns/functions"), 404, "NoSuchNamespaceException")
    assert_error(replace_function(catalog_server, namespace, "nope", definition()), 404)
    assert_error(create_function(catalog_server, "no_such_ns", "f"), 404)


def test_a_name_taken_by_a_function_is_409_and_a_table_of_that_name_is_not(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    assert create_function(catalog_server, namespace, "f").status_code == 200
    assert_error(create_function(catalog_server, namespace, "f"), 409, "AlreadyExistsException")
    schema = {
        "type": "struct",
        "fields": [{"id": 1, "name": "a", "type": "int", "required": False}],
    }
    table = http.post(f"/namespaces/{namespace}/tables", json={"name": "f", "schema": schema})
    assert table.status_code == 200, table.text


def deep_type(depth: int) -> Any:
    nested: Any = "int"
    for _ in range(depth):
        nested = {"type": "list", "element": nested}
    return nested


BAD_DEFINITIONS: dict[str, dict[str, Any]] = {
    "unknown type": {"definitions": [definition(param_type="integer")]},
    "type with a space": {"definitions": [definition(param_type="decimal(9, 2)")]},
    "decimal precision too large": {"definitions": [definition(param_type="decimal(39,2)")]},
    "nesting too deep": {"definitions": [definition(param_type=deep_type(40))]},
    "udtf returning a scalar": {"definitions": [definition(**{"function-type": "udtf"})]},
    "same parameter name twice": {
        "definitions": [
            {
                **definition(),
                "parameters": [{"name": "x", "type": "int"}, {"name": "x", "type": "long"}],
            }
        ]
    },
    "two definitions with the same parameter types": {
        "definitions": [definition("x + 1"), definition("x + 2")]
    },
    "no definitions": {"definitions": []},
    "no representations": {"definitions": [{**definition(), "representations": []}]},
    "two bodies for one dialect": {
        "definitions": [
            {
                **definition(),
                "representations": [
                    {"type": "sql", "dialect": "spark", "sql": "x"},
                    {"type": "sql", "dialect": "spark", "sql": "x + 0"},
                ],
            }
        ]
    },
    "empty sql": {"definitions": [definition(sql="  ")]},
    "an id the catalog assigns": {"definitions": [{**definition(), "definition-id": "int"}]},
    "unknown field": {"definitions": [definition()], "owner": "me"},
    "missing return type": {
        "definitions": [{k: v for k, v in definition().items() if k != "return-type"}]
    },
    "non-string property": {"definitions": [definition()], "properties": {"a": 1}},
}


@pytest.mark.parametrize("case", sorted(BAD_DEFINITIONS))
def test_a_bad_definition_is_400_and_changes_nothing(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str, case: str
) -> None:
    create_function(catalog_server, namespace, "kept")
    kept = http.get(f"/namespaces/{namespace}/functions/kept").json()
    body = BAD_DEFINITIONS[case]
    headers = catalog_server.auth_headers

    created = httpx.post(
        functions_path(catalog_server, namespace), json={"name": "f", **body}, headers=headers
    )
    replaced = httpx.put(
        f"{functions_path(catalog_server, namespace)}/kept", json=body, headers=headers
    )

    assert_error(created, 400)
    assert_error(replaced, 400)
    assert http.get(f"/namespaces/{namespace}/functions").json()["identifiers"] == [
        [namespace, "kept"]
    ]
    assert http.get(f"/namespaces/{namespace}/functions/kept").json() == kept


@pytest.mark.parametrize("name", ["a/b", "..", "", "x\u200by", " f"])
def test_a_bad_function_name_is_400(
    catalog_server: CatalogServer, namespace: str, name: str
) -> None:
    assert_error(create_function(catalog_server, namespace, name), 400)


def test_a_read_only_token_lists_and_loads_but_cannot_write(
    catalog_server: CatalogServer, namespace: str
) -> None:
    create_function(catalog_server, namespace, "f")
    issued = httpx.post(
        f"{catalog_server.url}/admin/v1/tokens",
        json={"name": "reader", "permission": "read-only", "warehouses": ["default"]},
        headers=catalog_server.auth_headers,
    ).json()
    reader = {"Authorization": f"Bearer {issued['token']}"}
    base = f"{catalog_server.url}/v1/default/namespaces/{namespace}/functions"
    admin_path = functions_path(catalog_server, namespace)

    assert httpx.get(base, headers=reader).json()["identifiers"] == [[namespace, "f"]]
    assert httpx.get(f"{base}/f", headers=reader).status_code == 200
    refused = [
        httpx.post(admin_path, json={"name": "g", "definitions": [definition()]}, headers=reader),
        httpx.put(f"{admin_path}/f", json={"definitions": [definition("0")]}, headers=reader),
        httpx.delete(f"{admin_path}/f", headers=reader),
    ]
    for response in refused:
        assert_error(response, 403, "ForbiddenException")
    assert httpx.get(base, headers=reader).json()["identifiers"] == [[namespace, "f"]]


def test_a_namespace_holding_a_function_is_not_empty(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_function(catalog_server, namespace, "f")
    assert_error(http.delete(f"/namespaces/{namespace}"), 409, "NamespaceNotEmptyException")
    httpx.delete(
        f"{functions_path(catalog_server, namespace)}/f", headers=catalog_server.auth_headers
    )
    assert http.delete(f"/namespaces/{namespace}").status_code == 204


def test_a_recursive_namespace_drop_drops_its_functions_unless_one_is_protected(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    admin = catalog_server.auth_headers
    http.post("/namespaces", json={"namespace": [namespace, "inner"]})
    create_function(catalog_server, f"{namespace}%1Finner", "f")
    protected = {"name": "p", "definitions": [definition()]}
    protected["properties"] = {"icefloe.protected": "true"}
    httpx.post(functions_path(catalog_server, namespace), json=protected, headers=admin)
    drop = f"{catalog_server.url}/admin/v1/warehouses/default/namespaces/{namespace}"

    assert_error(httpx.delete(drop, headers=admin), 403)
    assert http.get(f"/namespaces/{namespace}%1Finner/functions/f").status_code == 200

    unmark = {"definitions": [definition()]}
    httpx.put(f"{functions_path(catalog_server, namespace)}/p", json=unmark, headers=admin)
    assert httpx.delete(drop, headers=admin).status_code == 200
    assert_error(http.get(f"/namespaces/{namespace}/functions"), 404, "NoSuchNamespaceException")


def test_a_protected_function_cannot_be_dropped_and_only_an_admin_marks_it(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    writer = httpx.post(
        f"{catalog_server.url}/admin/v1/tokens",
        json={"name": "writer", "permission": "read-write", "warehouses": ["default"]},
        headers=catalog_server.auth_headers,
    ).json()
    as_writer = {"Authorization": f"Bearer {writer['token']}"}
    path = functions_path(catalog_server, namespace)
    protected = {"definitions": [definition()], "properties": {"icefloe.protected": "true"}}

    assert_error(httpx.post(path, json={"name": "f", **protected}, headers=as_writer), 403)
    assert httpx.post(path, json={"name": "f", **protected}, headers=catalog_server.auth_headers)
    assert_error(httpx.delete(f"{path}/f", headers=as_writer), 403)
    assert_error(httpx.delete(f"{path}/f", headers=catalog_server.auth_headers), 403)
    unmark = {"definitions": [definition()]}
    assert_error(httpx.put(f"{path}/f", json=unmark, headers=as_writer), 403)
    assert httpx.put(f"{path}/f", json=unmark, headers=catalog_server.auth_headers).is_success
    assert httpx.delete(f"{path}/f", headers=as_writer).status_code == 204


def test_the_config_endpoint_lists_the_function_operations(
    catalog_server: CatalogServer,
) -> None:
    config = httpx.get(
        f"{catalog_server.url}/v1/config", headers=catalog_server.auth_headers
    ).json()
    assert "GET /v1/{prefix}/namespaces/{namespace}/functions" in config["endpoints"]
    assert "GET /v1/{prefix}/namespaces/{namespace}/functions/{function}" in config["endpoints"]


def all_events(server: CatalogServer) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = httpx.get(
            f"{server.url}/admin/v1/events",
            params={"after": after, "limit": 1000},
            headers=server.auth_headers,
        ).json()
        events += page["events"]
        if not page["events"]:
            return events
        after = page["next-after"]


def test_each_change_is_audited_and_sends_its_change_event(
    catalog_server: CatalogServer, namespace: str
) -> None:
    create_function(catalog_server, namespace, "f")
    replace_function(catalog_server, namespace, "f", definition("x + 5"))
    httpx.delete(
        f"{functions_path(catalog_server, namespace)}/f", headers=catalog_server.auth_headers
    )

    audit = httpx.get(
        f"{catalog_server.url}/admin/v1/audit",
        params={"limit": 1000},
        headers=catalog_server.auth_headers,
    ).json()["events"]
    mine = [
        (e["operation"], e["status"])
        for e in audit
        if namespace in e["target"] and e["operation"].endswith("Function")
    ]
    assert sorted(mine) == [
        ("createFunction", 200),
        ("dropFunction", 204),
        ("replaceFunction", 200),
        ("trashFunction", 200),
    ]

    expected = ["created", "replaced", "dropped"]
    deadline = time.monotonic() + 20
    while True:
        kinds = [
            e["type"].rsplit(".", 1)[1]
            for e in all_events(catalog_server)
            if e["type"].startswith("io.icefloe.function.")
            and e["data"]["namespace"] == [namespace]
        ]
        if kinds == expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert kinds == expected


def icefloe(server: CatalogServer, *args: str) -> Result:
    """The command in this process (typer's runner): the same code as the installed
    `icefloe`, without an interpreter start per call."""
    database = ["--database-url", server.database_url] if server.database_url else []
    return CliRunner().invoke(
        app, [*args, "--data-dir", str(server.data_dir), *database], env={"COLUMNS": "200"}
    )


def test_the_cli_creates_replaces_shows_lists_and_drops(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    first, second = tmp_path / "one.json", tmp_path / "two.json"
    first.write_text(json.dumps({"definitions": [definition("x + 1")], "doc": "adds one"}))
    second.write_text(json.dumps({"definitions": [definition("x + 100")]}))
    identifier = f"{namespace}.add"

    created = icefloe(catalog_server, "function", "create", identifier, str(first))
    assert created.exit_code == 0, created.output
    assert icefloe(catalog_server, "function", "replace", identifier, str(second)).exit_code == 0
    shown = icefloe(catalog_server, "function", "show", identifier)
    assert "x + 100" in shown.stdout and "(int)" in shown.stdout, shown.stdout
    assert icefloe(catalog_server, "function", "list", namespace).stdout.split() == [identifier]
    loaded = http.get(f"/namespaces/{namespace}/functions/add").json()["metadata"]
    assert loaded["definitions"][0]["current-version-id"] == 2

    assert icefloe(catalog_server, "function", "drop", identifier).exit_code == 0
    assert_error(http.get(f"/namespaces/{namespace}/functions/add"), 404, "NoSuchFunctionException")
    again = icefloe(catalog_server, "function", "drop", identifier)
    assert again.exit_code == 1 and "does not exist" in again.output
    audit = httpx.get(
        f"{catalog_server.url}/admin/v1/audit",
        params={"limit": 1000},
        headers=catalog_server.auth_headers,
    ).json()["events"]
    assert {
        e["operation"]
        for e in audit
        if e["principal"] == "icefloe-cli" and namespace in e["target"]
    } == {"createFunction", "replaceFunction", "dropFunction", "trashFunction"}


# The trash (docs/governance.md): a dropped function is kept like a table, and comes back.


def drop_function(
    server: CatalogServer, namespace: str, name: str, warehouse: str = "default"
) -> httpx.Response:
    path = functions_path(server, namespace).replace("/default/", f"/{warehouse}/")
    return httpx.delete(f"{path}/{name}", headers=server.auth_headers)


def in_trash(server: CatalogServer, namespace: str, warehouse: str = "default") -> list[Any]:
    return [
        (e["name"], e["kind"], e["metadata-location"])
        for e in trash(server, warehouse)
        if e["namespace"][0] == namespace
    ]


def test_a_dropped_function_goes_to_the_trash_and_undrop_brings_it_back_unchanged(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    before = create_function(catalog_server, namespace, "f").json()
    assert drop_function(catalog_server, namespace, "f").status_code == 204
    assert in_trash(catalog_server, namespace) == [("f", "function", None)]
    assert_error(http.get(f"/namespaces/{namespace}/functions/f"), 404, "NoSuchFunctionException")

    undropped = undrop(catalog_server, f"{namespace}.f", kind="function")

    assert undropped.status_code == 200, undropped.text
    assert undropped.json()["kind"] == "function"
    assert http.get(f"/namespaces/{namespace}/functions/f").json() == before
    assert http.get(f"/namespaces/{namespace}/functions").json()["identifiers"] == [
        [namespace, "f"]
    ]
    assert in_trash(catalog_server, namespace) == []
    operations = audit_operations(catalog_server)
    assert ("trashFunction", f"default/{namespace}/f") in operations
    assert ("undropFunction", f"default/{namespace}/f") in operations
    # Replaced after its undrop, it is the same function: its version went on.
    assert replace_function(catalog_server, namespace, "f", definition("x + 9")).is_success
    deadline = time.monotonic() + 20
    while True:
        events = [
            (e["type"].rsplit(".", 1)[1], e["data"].get("trash"))
            for e in all_events(catalog_server)
            if e["type"].startswith("io.icefloe.function.")
            and e["data"]["namespace"] == [namespace]
        ]
        if len(events) == 4 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert events == [("created", None), ("dropped", True), ("undropped", None), ("replaced", None)]


def test_a_function_name_reused_while_in_the_trash_needs_undrop_as(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_function(catalog_server, namespace, "f", definition("x + 1"))
    drop_function(catalog_server, namespace, "f")
    create_function(catalog_server, namespace, "f", definition("x + 2"))

    assert_error(
        undrop(catalog_server, f"{namespace}.f", kind="function"), 409, "AlreadyExistsException"
    )
    assert (
        http.get(f"/namespaces/{namespace}/functions/f").json()["metadata"]["definitions"][0][
            "versions"
        ][0]["representations"][0]["sql"]
        == "x + 2"
    )
    moved = undrop(catalog_server, f"{namespace}.f", rename_to=f"{namespace}.f_old")
    assert moved.status_code == 200, moved.text
    old = http.get(f"/namespaces/{namespace}/functions/f_old").json()["metadata"]
    assert old["definitions"][0]["versions"][0]["representations"][0]["sql"] == "x + 1"


def test_a_function_and_a_table_of_one_name_are_undropped_by_kind(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    """Their names are apart: a live table does not stand in a function's way, and `kind`
    picks which of the two dropped entries comes back."""
    schema = {
        "type": "struct",
        "fields": [{"id": 1, "name": "a", "type": "int", "required": False}],
    }
    create_function(catalog_server, namespace, "same")
    assert http.post(
        f"/namespaces/{namespace}/tables", json={"name": "same", "schema": schema}
    ).is_success
    drop_function(catalog_server, namespace, "same")
    assert_error(
        undrop(catalog_server, f"{namespace}.same", kind="table"), 404, "NotFoundException"
    )

    assert undrop(catalog_server, f"{namespace}.same", kind="function").status_code == 200
    assert http.delete(f"/namespaces/{namespace}/tables/same").status_code == 204
    drop_function(catalog_server, namespace, "same")
    table_back = undrop(catalog_server, f"{namespace}.same", kind="table")
    assert table_back.json()["kind"] == "table", table_back.text
    assert undrop(catalog_server, f"{namespace}.same", kind="function").status_code == 200
    assert http.get(f"/namespaces/{namespace}/tables/same").status_code == 200
    assert http.get(f"/namespaces/{namespace}/functions/same").status_code == 200


def test_a_recursive_namespace_drop_trashes_its_functions_and_undrop_recreates_the_namespace(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    http.post(f"/namespaces/{namespace}/properties", json={"updates": {"owner": "ana"}})
    create_function(catalog_server, namespace, "f")
    with admin(catalog_server) as client:
        dropped = client.delete(f"/warehouses/default/namespaces/{namespace}")
    assert dropped.status_code == 200, dropped.text
    assert dropped.json()["objects"] == [
        {"namespace": [namespace], "name": "f", "kind": "function"}
    ]
    assert dropped.json()["in-trash"] == 1
    assert in_trash(catalog_server, namespace) == [("f", "function", None)]

    assert undrop(catalog_server, f"{namespace}.f").status_code == 200

    assert http.get(f"/namespaces/{namespace}").json()["properties"] == {"owner": "ana"}
    assert http.get(f"/namespaces/{namespace}/functions/f").status_code == 200


def test_a_trashed_function_is_forgotten_when_its_retention_ends_and_retention_zero_is_final(
    catalog_server: CatalogServer,
) -> None:
    kept, final = new_warehouse(catalog_server), new_warehouse(catalog_server, retention_seconds=0)
    for warehouse in (kept, final):
        created = httpx.post(
            f"{catalog_server.url}/v1/{warehouse}/namespaces",
            json={"namespace": ["ns"]},
            headers=catalog_server.auth_headers,
        )
        assert created.status_code == 200, created.text
        body = {"name": "f", "definitions": [definition()]}
        path = f"{catalog_server.url}/admin/v1/warehouses/{warehouse}/namespaces/ns/functions"
        assert httpx.post(path, json=body, headers=catalog_server.auth_headers).is_success
        assert drop_function(catalog_server, "ns", "f", warehouse).status_code == 204

    assert in_trash(catalog_server, "ns", final) == []
    assert_error(undrop(catalog_server, "ns.f", final), 404, "NotFoundException")
    assert in_trash(catalog_server, "ns", kept) == [("f", "function", None)]

    set_retention(catalog_server, 1, kept)
    time.sleep(1.1)
    expired = [e for e in expire_now(catalog_server) if e["warehouse"] == kept]

    assert [(e["name"], e["kind"], e["outcome"]) for e in expired] == [
        ("f", "function", "forgotten")
    ]
    assert in_trash(catalog_server, "ns", kept) == []
    assert ("forgetFunction", f"{kept}/ns/f") in audit_operations(catalog_server)


def test_the_cli_drops_to_the_trash_and_undrops_a_function_by_kind(
    catalog_server: CatalogServer, http: httpx.Client, namespace: str
) -> None:
    create_function(catalog_server, namespace, "f")
    assert icefloe(catalog_server, "function", "drop", f"{namespace}.f").exit_code == 0
    listed = icefloe(catalog_server, "trash", "list")
    assert f"{namespace}.f" in listed.stdout and "function" in listed.stdout

    wrong = icefloe(catalog_server, "undrop", f"{namespace}.f", "--kind", "view")
    assert wrong.exit_code == 1 and "No view named" in wrong.output, wrong.output
    restored = icefloe(catalog_server, "undrop", f"{namespace}.f", "--kind", "function")

    assert restored.exit_code == 0, restored.output
    assert "Undropped function" in restored.output
    assert http.get(f"/namespaces/{namespace}/functions/f").status_code == 200


# Search (docs/governance.md): a function is found by its name, its docs and its parameters.


def search_hits(server: CatalogServer, query: str, token: str | None = None) -> list[Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else server.auth_headers
    response = httpx.get(
        f"{server.url}/admin/v1/search",
        params={"q": query, "warehouse": "default", "pageSize": 100},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return [
        (r["kind"], r["identifier"]["name"], r["matched"], r.get("matching-parameters"))
        for r in response.json()["results"]
    ]


def test_a_function_is_found_by_name_doc_and_parameter_and_search_follows_its_changes(
    catalog_server: CatalogServer, namespace: str
) -> None:
    word = uuid.uuid4().hex[:8]
    described = {
        "parameters": [{"name": f"amount_{word}", "type": "double"}],
        "return-type": "double",
        "representations": [{"type": "sql", "dialect": "spark", "sql": "amount * 1.2"}],
    }
    body = {"name": f"tax_{word}", "definitions": [described], "doc": f"adds vat{word}"}
    path = functions_path(catalog_server, namespace)
    assert httpx.post(path, json=body, headers=catalog_server.auth_headers).is_success

    assert search_hits(catalog_server, f"tax_{word}") == [
        ("function", f"tax_{word}", ["name", "parameters"], [f"amount_{word}"])
    ]
    assert search_hits(catalog_server, f"vat{word}") == [("function", f"tax_{word}", ["doc"], [])]
    assert search_hits(catalog_server, f"amount {word}") == [
        ("function", f"tax_{word}", ["name", "parameters"], [f"amount_{word}"])
    ]

    renamed = {**described, "parameters": [{"name": f"price_{word}", "type": "double"}]}
    replaced = httpx.put(
        f"{path}/tax_{word}", json={"definitions": [renamed]}, headers=catalog_server.auth_headers
    )
    assert replaced.is_success, replaced.text
    assert search_hits(catalog_server, f"amount_{word}") == []
    assert search_hits(catalog_server, f"vat{word}") == []
    assert [hit[1] for hit in search_hits(catalog_server, f"price_{word}")] == [f"tax_{word}"]

    drop_function(catalog_server, namespace, f"tax_{word}")
    assert search_hits(catalog_server, f"price_{word}") == []
    undrop(catalog_server, f"{namespace}.tax_{word}", kind="function")
    assert [hit[1] for hit in search_hits(catalog_server, f"price_{word}")] == [f"tax_{word}"]


def test_a_function_outside_a_narrowed_callers_namespaces_is_not_found(
    catalog_server: CatalogServer, namespace: str
) -> None:
    word = f"secret{uuid.uuid4().hex[:8]}"
    create_function(catalog_server, namespace, word)
    narrowed = httpx.post(
        f"{catalog_server.url}/admin/v1/tokens",
        json={
            "name": "narrowed",
            "permission": "read-only",
            "warehouses": ["default"],
            "namespaces": [["elsewhere"]],
        },
        headers=catalog_server.auth_headers,
    )
    assert narrowed.status_code == 201, narrowed.text
    reader = httpx.post(
        f"{catalog_server.url}/admin/v1/tokens",
        json={"name": "reader", "permission": "read-only", "warehouses": ["default"]},
        headers=catalog_server.auth_headers,
    ).json()

    assert [hit[1] for hit in search_hits(catalog_server, word, reader["token"])] == [word]
    assert search_hits(catalog_server, word, narrowed.json()["token"]) == []
