"""Every operation of the spec and of the admin API, for every kind of caller: the expected
status, and nothing changed by a refused request.

The operations come from the official OpenAPI document and from the privilege table; a new
route without a row here, or a spec operation that is neither served nor listed as not yet
served, fails this test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import pytest
import yaml

from catalog.auth.policy import POLICY
from storage.io import local_path
from tests.support.access_log import via
from tests.support.payloads import SCHEMA
from tests.support.server import CatalogServer

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "rest-catalog-open-api.yaml"
UNAUTHENTICATED = {"getToken"}  # the OAuth2 endpoint is how a caller gets credentials


def spec_operations() -> set[str]:
    document = yaml.safe_load(SPEC.read_text())
    return {
        operation["operationId"]
        for methods in document["paths"].values()
        for method, operation in methods.items()
        if method in ("get", "post", "put", "delete", "head")
    }


@dataclass
class World:
    """What each case starts from: a namespace with a table and a view, in warehouse default."""

    namespace: str
    view_json: dict[str, Any]
    table_location: str
    loose_table_metadata: str
    loose_view_metadata: str


def view_version(sql: str) -> dict[str, Any]:
    return {
        "version-id": 1,
        "schema-id": 0,
        "timestamp-ms": 1,
        "summary": {},
        "representations": [{"type": "sql", "sql": sql, "dialect": "spark"}],
        "default-namespace": [],
    }


Request = tuple[str, str, dict[str, Any]]
UPLOAD = {"file-name": "f.csv", "content-type": "text/csv", "content-length": 10}


def maintenance_path(w: World) -> str:
    return f"/admin/v1/warehouses/default/namespaces/{w.namespace}/tables/t/maintenance"


def governance_path(w: World, rest: str = "") -> str:
    return f"/admin/v1/warehouses/default/namespaces/{w.namespace}{rest}"


def function_body(sql: str) -> dict[str, Any]:
    definition = {
        "parameters": [{"name": "x", "type": "int"}],
        "return-type": "int",
        "representations": [{"type": "sql", "dialect": "spark", "sql": sql}],
    }
    return {"definitions": [definition]}


REQUESTS: dict[str, Callable[[World], Request]] = {
    "getConfig": lambda w: ("GET", "/v1/config", {"params": {"warehouse": "default"}}),
    "listNamespaces": lambda w: (
        "GET",
        "/v1/default/namespaces",
        {"params": {"parent": w.namespace}},
    ),
    "createNamespace": lambda w: (
        "POST",
        "/v1/default/namespaces",
        {"json": {"namespace": [w.namespace, "child"]}},
    ),
    "loadNamespaceMetadata": lambda w: ("GET", f"/v1/default/namespaces/{w.namespace}", {}),
    "namespaceExists": lambda w: ("HEAD", f"/v1/default/namespaces/{w.namespace}", {}),
    "dropNamespace": lambda w: ("DELETE", f"/v1/default/namespaces/{w.namespace}%1Fempty", {}),
    "updateProperties": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/properties",
        {"json": {"updates": {"a": "1"}}},
    ),
    "listTables": lambda w: ("GET", f"/v1/default/namespaces/{w.namespace}/tables", {}),
    "createTable": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/tables",
        {"json": {"name": "n", "schema": SCHEMA}},
    ),
    "registerTable": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/register",
        {"json": {"name": "r", "metadata-location": w.loose_table_metadata}},
    ),
    "loadTable": lambda w: ("GET", f"/v1/default/namespaces/{w.namespace}/tables/t", {}),
    "loadCredentials": lambda w: (
        "GET",
        f"/v1/default/namespaces/{w.namespace}/tables/t/credentials",
        {},
    ),
    "signRequest": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/tables/t/sign",
        {
            "json": {
                "region": "auto",
                "uri": "http://127.0.0.1:1/bucket/t/x",
                "method": "GET",
                "headers": {},
            }
        },
    ),
    "signS3Request": lambda w: (
        "POST",
        "/v1/aws/s3/sign",
        {
            "json": {
                "region": "auto",
                "uri": "http://127.0.0.1:1/bucket/t/x",
                "method": "GET",
                "headers": {},
            }
        },
    ),
    "tableExists": lambda w: ("HEAD", f"/v1/default/namespaces/{w.namespace}/tables/t", {}),
    "updateTable": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/tables/t",
        {"json": {"updates": [{"action": "set-properties", "updates": {"k": "v"}}]}},
    ),
    "dropTable": lambda w: ("DELETE", f"/v1/default/namespaces/{w.namespace}/tables/t", {}),
    "unregisterTable": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/tables/t/unregister",
        {},
    ),
    "reportMetrics": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/tables/t/metrics",
        {"json": {"report-type": "scan-report", "table-name": "t", "snapshot-id": 1}},
    ),
    "renameTable": lambda w: (
        "POST",
        "/v1/default/tables/rename",
        {
            "json": {
                "source": {"namespace": [w.namespace], "name": "t"},
                "destination": {"namespace": [w.namespace], "name": "t2"},
            }
        },
    ),
    "commitTransaction": lambda w: (
        "POST",
        "/v1/default/transactions/commit",
        {
            "json": {
                "table-changes": [
                    {
                        "identifier": {"namespace": [w.namespace], "name": "t"},
                        "updates": [{"action": "set-properties", "updates": {"k": "v"}}],
                    }
                ]
            }
        },
    ),
    "planTableScan": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/tables/t/plan",
        {"json": {"case-sensitive": True}},
    ),
    "fetchPlanningResult": lambda w: (
        "GET",
        f"/v1/default/namespaces/{w.namespace}/tables/t/plan/made-up",
        {},
    ),
    "cancelPlanning": lambda w: (
        "DELETE",
        f"/v1/default/namespaces/{w.namespace}/tables/t/plan/made-up",
        {},
    ),
    "fetchScanTasks": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/tables/t/tasks",
        {"json": {"plan-task": "made-up"}},
    ),
    "listViews": lambda w: ("GET", f"/v1/default/namespaces/{w.namespace}/views", {}),
    "createView": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/views",
        {"json": {"name": "nv", "schema": SCHEMA, "view-version": view_version("SELECT 2")}},
    ),
    "registerView": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/register-view",
        {"json": {"name": "rv", "metadata-location": w.loose_view_metadata}},
    ),
    "loadView": lambda w: ("GET", f"/v1/default/namespaces/{w.namespace}/views/v", {}),
    "viewExists": lambda w: ("HEAD", f"/v1/default/namespaces/{w.namespace}/views/v", {}),
    "replaceView": lambda w: (
        "POST",
        f"/v1/default/namespaces/{w.namespace}/views/v",
        {"json": {"updates": [{"action": "set-properties", "updates": {"k": "v"}}]}},
    ),
    "dropView": lambda w: ("DELETE", f"/v1/default/namespaces/{w.namespace}/views/v", {}),
    "renameView": lambda w: (
        "POST",
        "/v1/default/views/rename",
        {
            "json": {
                "source": {"namespace": [w.namespace], "name": "v"},
                "destination": {"namespace": [w.namespace], "name": "v2"},
            }
        },
    ),
    "listFunctions": lambda w: ("GET", f"/v1/default/namespaces/{w.namespace}/functions", {}),
    "loadFunction": lambda w: (
        "GET",
        f"/v1/default/namespaces/{w.namespace}/functions/fn",
        {},
    ),
    "createFunction": lambda w: (
        "POST",
        governance_path(w, "/functions"),
        {"json": {"name": "nf", **function_body("x + 2")}},
    ),
    "replaceFunction": lambda w: (
        "PUT",
        governance_path(w, "/functions/fn"),
        {"json": function_body("x + 3")},
    ),
    "dropFunction": lambda w: ("DELETE", governance_path(w, "/functions/fn"), {}),
    "whoAmI": lambda w: ("GET", "/admin/v1/whoami", {}),
    "listWarehouses": lambda w: ("GET", "/admin/v1/warehouses", {}),
    "createWarehouse": lambda w: (
        "POST",
        "/admin/v1/warehouses",
        {
            "json": {
                "name": f"w{uuid.uuid4().hex[:8]}",
                "location": w.table_location.rsplit("/", 3)[0] + "/wh",
            }
        },
    ),
    "deleteWarehouse": lambda w: ("DELETE", "/admin/v1/warehouses/scratch", {}),
    "getWarehouseApproval": lambda w: ("GET", "/admin/v1/warehouses/default/approval", {}),
    "setWarehouseApproval": lambda w: (
        "PUT",
        "/admin/v1/warehouses/scratch/approval",
        {"json": {"rules": ["drop-column"]}},
    ),
    "deleteWarehouseApproval": lambda w: ("DELETE", "/admin/v1/warehouses/scratch/approval", {}),
    "searchCatalog": lambda w: (
        "GET",
        "/admin/v1/search",
        {"params": {"q": "t", "warehouse": "default"}},
    ),
    "listTokens": lambda w: ("GET", "/admin/v1/tokens", {}),
    "createToken": lambda w: (
        "POST",
        "/admin/v1/tokens",
        {"json": {"name": "m", "permission": "admin"}},
    ),
    "revokeToken": lambda w: ("DELETE", "/admin/v1/tokens/0000000000000000", {}),
    "rotateToken": lambda w: ("POST", "/admin/v1/tokens/0000000000000000/rotate", {}),
    "listAuditEvents": lambda w: ("GET", "/admin/v1/audit", {}),
    "getWarehouseMaintenancePolicy": lambda w: (
        "GET",
        "/admin/v1/warehouses/default/maintenance/policy",
        {},
    ),
    "setWarehouseMaintenancePolicy": lambda w: (
        "PUT",
        "/admin/v1/warehouses/default/maintenance/policy",
        {"json": {"expiration.retain-last": 11}},
    ),
    "getTableMaintenancePolicy": lambda w: ("GET", maintenance_path(w) + "/policy", {}),
    "setTableMaintenancePolicy": lambda w: (
        "PUT",
        maintenance_path(w) + "/policy",
        {"json": {"expiration.retain-last": 12}},
    ),
    "runMaintenanceJob": lambda w: (
        "POST",
        maintenance_path(w) + "/runs",
        {"json": {"kind": "expire", "dry-run": True}},
    ),
    "listMaintenanceRuns": lambda w: ("GET", "/admin/v1/maintenance/runs", {}),
    "getMaintenanceRun": lambda w: ("GET", "/admin/v1/maintenance/runs/999999", {}),
    "listTrash": lambda w: ("GET", "/admin/v1/warehouses/default/trash", {}),
    "undropObject": lambda w: (  # the view `w` the world dropped
        "POST",
        "/admin/v1/warehouses/default/trash/undrop",
        {"json": {"namespace": [w.namespace], "name": "w"}},
    ),
    "setTrashRetention": lambda w: (
        "PUT",
        "/admin/v1/warehouses/default/trash/retention",
        {"json": {"retention-seconds": 7 * 86400}},
    ),
    "expireTrash": lambda w: ("POST", "/admin/v1/trash/expire", {}),
    "dropNamespaceRecursive": lambda w: ("DELETE", governance_path(w), {}),
    "protectNamespace": lambda w: ("PUT", governance_path(w, "/protection"), {}),
    "unprotectNamespace": lambda w: ("DELETE", governance_path(w, "/protection"), {}),
    "protectTable": lambda w: ("PUT", governance_path(w, "/tables/t/protection"), {}),
    "unprotectTable": lambda w: ("DELETE", governance_path(w, "/tables/t/protection"), {}),
    "protectView": lambda w: ("PUT", governance_path(w, "/views/v/protection"), {}),
    "unprotectView": lambda w: ("DELETE", governance_path(w, "/views/v/protection"), {}),
    "listEvents": lambda w: ("GET", "/admin/v1/events", {}),
    "listDeadLetters": lambda w: ("GET", "/admin/v1/events/dead-letters", {}),
    "getPrometheusMetrics": lambda w: ("GET", "/metrics", {}),
    "createTableUpload": lambda w: (
        "POST",
        governance_path(w, "/tables/t/uploads"),
        {"json": UPLOAD},
    ),
    "commitTableUpload": lambda w: ("POST", governance_path(w, "/tables/t/uploads/x.y/commit"), {}),
    "createNamespaceUpload": lambda w: ("POST", governance_path(w, "/uploads"), {"json": UPLOAD}),
    "createTableFromUpload": lambda w: (
        "POST",
        governance_path(w, "/uploads/x.y/create-table"),
        {"json": {"name": "from_file"}},
    ),
    "previewTable": lambda w: ("GET", governance_path(w, "/tables/t/preview"), {}),
}
# Admin operations that answer 404 for the made-up ids above, once the caller is allowed in.
ALLOWED_BUT_MISSING = {
    "revokeToken",
    "rotateToken",
    "getMaintenanceRun",
    "fetchPlanningResult",
    "cancelPlanning",
    "fetchScanTasks",
}
# Past the gate, the service answers: this server's warehouse is on local disk, so there is
# nothing to sign for (remote signing itself is tested in test_remote_signing.py).
# /v1/aws/s3/sign answers 403 for a URL that lies in no table of the catalog.
# Uploads need an S3 warehouse, and x.y is no upload id (tests/console/test_uploads.py).
ALLOWED_THEN_REFUSED = {
    "signRequest": {400},
    "signS3Request": {403},
    "createTableUpload": {400},
    "commitTableUpload": {400},
    "createNamespaceUpload": {400},
    "createTableFromUpload": {400},
}
# Answered before FastAPI's router when allowed (catalog/api/tables_fast.py, listing_fast.py,
# config_fast.py, commit_fast.py), by the routes when refused: the matrix checks both, and that
# the fast path really answered.
FAST_PATH = {
    "loadTable",
    "tableExists",
    "getConfig",
    "listNamespaces",
    "listTables",
    "listViews",
    "updateTable",
}
# More forms of some operations, each walked like its operation: the ones the fast paths answer.
VARIANTS: dict[str, tuple[str, Callable[[World], Request]]] = {
    "loadTable vended-credentials": (
        "loadTable",
        lambda w: (
            "GET",
            f"/v1/default/namespaces/{w.namespace}/tables/t",
            {"headers": {"X-Iceberg-Access-Delegation": "vended-credentials"}},
        ),
    ),
    "loadTable remote-signing": (
        "loadTable",
        lambda w: (
            "GET",
            f"/v1/default/namespaces/{w.namespace}/tables/t",
            {"headers": {"X-Iceberg-Access-Delegation": "remote-signing"}},
        ),
    ),
    "getConfig default warehouse": ("getConfig", lambda w: ("GET", "/v1/config", {})),
    "listNamespaces top level paged": (
        "listNamespaces",
        lambda w: ("GET", "/v1/default/namespaces", {"params": {"pageSize": 2}}),
    ),
    "listTables paged": (
        "listTables",
        lambda w: (
            "GET",
            f"/v1/default/namespaces/{w.namespace}/tables",
            {"params": {"pageSize": 1}},
        ),
    ),
}
CASES = {**{operation: (operation, build) for operation, build in REQUESTS.items()}, **VARIANTS}
# A top-level listing needs only entry to the warehouse; what it shows is filtered.
VARIANT_STATUS = {
    ("listNamespaces top level paged", "read-write narrowed to another namespace"): "ok"
}

CALLERS = [
    "no token",
    "expired",
    "revoked",
    "read-only",
    "read-write on another warehouse",
    "read-write narrowed to another namespace",
    "read-write",
    "admin",
]


def expected_status(operation: str, caller: str) -> str:
    """`ok`, `401` or `403`."""
    rule = POLICY[operation]
    if caller in ("no token", "expired", "revoked"):
        return "401"
    if caller == "admin":
        return "ok"
    if rule.target.value == "catalog":
        return "403"
    if rule.target.value == "none":
        return "ok"
    if caller == "read-write on another warehouse":
        return "403"
    if caller == "read-write narrowed to another namespace":
        return "ok" if rule.target.value == "warehouse" else "403"
    if caller == "read-only" and rule.permission.name != "READ":
        return "403"
    return "ok"


@pytest.fixture(scope="module")
def matrix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    """Its own server: the rules do not depend on the database, so SQLite is enough. INFO
    logs: the access log line says whether the fast path answered (FAST_PATH below)."""
    server = CatalogServer(
        tmp_path_factory.mktemp("matrix"), env={"ICEFLOE_LOG_LEVEL": "INFO"}
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tokens(matrix_server: CatalogServer) -> dict[str, str | None]:
    catalog_server = matrix_server
    admin = catalog_server.auth_headers

    def create(**body: Any) -> dict[str, Any]:
        response = httpx.post(f"{catalog_server.url}/admin/v1/tokens", json=body, headers=admin)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    location = (catalog_server.data_dir / "warehouse" / "other").as_uri()
    httpx.post(
        f"{catalog_server.url}/admin/v1/warehouses",
        json={"name": "other", "location": location},
        headers=admin,
    )
    expired = create(name="expired", permission="admin", expires_in_seconds=1)
    revoked = create(name="revoked", permission="admin")
    httpx.delete(f"{catalog_server.url}/admin/v1/tokens/{revoked['id']}", headers=admin)
    time.sleep(1.2)
    return {
        "no token": None,
        "expired": expired["token"],
        "revoked": revoked["token"],
        "read-only": create(name="ro", permission="read-only", warehouses=["default"])["token"],
        "read-write on another warehouse": create(
            name="other-wh", permission="read-write", warehouses=["other"]
        )["token"],
        "read-write narrowed to another namespace": create(
            name="other-ns",
            permission="read-write",
            warehouses=["default"],
            namespaces=[["elsewhere"]],
        )["token"],
        "read-write": create(name="rw", permission="read-write", warehouses=["default"])["token"],
        "admin": catalog_server.token,
        PLACER: create(
            name="placer",
            permission="read-write",
            warehouses=["default"],
            namespaces=[[PLACING]],
        )["token"],
    }


W = TypeVar("W")


class Worlds(Generic[W]):
    """Refused requests change nothing, so one world serves them all; an allowed request may
    change it, so the next case gets a fresh one."""

    def __init__(self, server: CatalogServer, build: Callable[[CatalogServer], W]) -> None:
        self.server = server
        self.build = build
        self.current: W | None = None

    def get(self) -> W:
        if self.current is None:
            self.current = self.build(self.server)
        return self.current

    def spoil(self) -> None:
        self.current = None


@pytest.fixture(scope="module")
def worlds(matrix_server: CatalogServer) -> Worlds[World]:
    return Worlds(matrix_server, build_world)


@pytest.fixture
def world(worlds: Worlds[World]) -> World:
    return worlds.get()


def build_world(catalog_server: CatalogServer) -> World:
    namespace = f"m_{uuid.uuid4().hex[:10]}"
    with httpx.Client(
        base_url=f"{catalog_server.url}/v1/default", headers=catalog_server.auth_headers
    ) as http:
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        http.post("/namespaces", json={"namespace": [namespace, "empty"]})
        table = http.post(f"/namespaces/{namespace}/tables", json={"name": "t", "schema": SCHEMA})
        view = http.post(
            f"/namespaces/{namespace}/views",
            json={"name": "v", "schema": SCHEMA, "view-version": view_version("SELECT 1")},
        )
        # Metadata files no longer registered anywhere, so registering them overlaps nothing.
        loose = http.post(f"/namespaces/{namespace}/tables", json={"name": "u", "schema": SCHEMA})
        http.post(f"/namespaces/{namespace}/tables/u/unregister")
        loose_view = http.post(
            f"/namespaces/{namespace}/views",
            json={"name": "w", "schema": SCHEMA, "view-version": view_version("SELECT 3")},
        )
        http.delete(f"/namespaces/{namespace}/views/w")
        function = httpx.post(
            f"{catalog_server.url}/admin/v1/warehouses/default/namespaces/{namespace}/functions",
            json={"name": "fn", **function_body("x + 1")},
            headers=catalog_server.auth_headers,
        )
        assert function.status_code == 200, function.text
        scratch = (catalog_server.data_dir / "warehouse" / "scratch").as_uri()
        httpx.post(
            f"{catalog_server.url}/admin/v1/warehouses",
            json={"name": "scratch", "location": scratch},
            headers=catalog_server.auth_headers,
        )
        return World(
            namespace,
            view.json(),
            table.json()["metadata-location"],
            loose.json()["metadata-location"],
            loose_view.json()["metadata-location"],
        )


def state(server: CatalogServer, world: World) -> Any:
    """Everything a refused request could have changed."""
    with httpx.Client(base_url=f"{server.url}/v1/default", headers=server.auth_headers) as http:
        ns = world.namespace
        return (
            http.get(f"/namespaces/{ns}").json(),
            http.get("/namespaces", params={"parent": ns}).json(),
            http.get(f"/namespaces/{ns}/tables").json(),
            http.get(f"/namespaces/{ns}/views").json(),
            http.get(f"/namespaces/{ns}/tables/t").json().get("metadata-location"),
            http.get(f"/namespaces/{ns}/views/v").json().get("metadata-location"),
            http.get(f"/namespaces/{ns}/functions").json(),
            http.get(f"/namespaces/{ns}/functions/fn").json(),
            httpx.get(f"{server.url}/admin/v1/warehouses", headers=server.auth_headers).json(),
            len(
                httpx.get(f"{server.url}/admin/v1/tokens", headers=server.auth_headers).json()[
                    "tokens"
                ]
            ),
            # The table's policy shows the warehouse's settings too (its layers and sources).
            httpx.get(
                f"{server.url}{maintenance_path(world)}/policy", headers=server.auth_headers
            ).json(),
            httpx.get(
                f"{server.url}/admin/v1/maintenance/runs", headers=server.auth_headers
            ).json(),
            httpx.get(
                f"{server.url}/admin/v1/warehouses/default/trash", headers=server.auth_headers
            ).json(),
        )


def test_every_operation_of_the_spec_is_governed() -> None:
    spec = spec_operations()
    assert spec - set(POLICY) - UNAUTHENTICATED == set()
    assert set(POLICY) == set(REQUESTS)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_authorization_matrix(
    matrix_server: CatalogServer,
    tokens: dict[str, str | None],
    worlds: Worlds[World],
    world: World,
    case: str,
    caller: str,
) -> None:
    operation, build = CASES[case]
    expected = VARIANT_STATUS.get((case, caller)) or expected_status(operation, caller)
    method, path, options = build(world)
    token = tokens[caller]
    request_id = uuid.uuid4().hex
    headers = {"X-Request-Id": request_id, **options.pop("headers", {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    catalog_server = matrix_server
    before = state(catalog_server, world) if expected != "ok" else None

    response = httpx.request(method, f"{catalog_server.url}{path}", headers=headers, **options)

    if operation in FAST_PATH:
        fast = via(catalog_server, request_id) == "fast"
        assert fast == (expected == "ok"), f"fast path answered: {fast}"
    if expected == "ok":
        worlds.spoil()
        allowed = {404} if operation in ALLOWED_BUT_MISSING else set(range(200, 300))
        allowed = ALLOWED_THEN_REFUSED.get(operation, allowed)
        assert response.status_code in allowed, response.text
        return
    assert response.status_code == int(expected), response.text
    if method != "HEAD":
        kind = "NotAuthorizedException" if expected == "401" else "ForbiddenException"
        assert response.json()["error"]["type"] == kind
    assert state(catalog_server, world) == before, "a refused request changed something"


def test_search_finds_only_what_a_narrowed_caller_may_see(
    matrix_server: CatalogServer, tokens: dict[str, str | None], world: World
) -> None:
    """The world's table `t` (column `city`) lies outside the narrowed caller's namespace: a
    warehouse-wide reader finds it by column name, the narrowed one finds nothing of it."""

    def found(caller: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{matrix_server.url}/admin/v1/search",
            params={"q": "city", "warehouse": "default", "pageSize": 1000},
            headers={"Authorization": f"Bearer {tokens[caller]}"},
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return [
            r
            for r in results
            if r.get("identifier", {}).get("namespace") == [world.namespace]
            or r.get("namespace", [None])[0] == world.namespace
        ]

    assert {"namespace": [world.namespace], "name": "t"} in [
        r["identifier"] for r in found("read-only")
    ]
    assert found("read-write narrowed to another namespace") == []
    assert found(PLACER) == []


def test_listing_shows_only_what_a_narrowed_caller_may_see(
    matrix_server: CatalogServer, tokens: dict[str, str | None], world: World
) -> None:
    catalog_server = matrix_server
    narrowed = {"Authorization": f"Bearer {tokens['read-write narrowed to another namespace']}"}
    listed = httpx.get(f"{catalog_server.url}/v1/default/namespaces", headers=narrowed)
    assert listed.status_code == 200
    assert [world.namespace] not in listed.json()["namespaces"]


# Location placement (catalog/service/placement.py): a writer narrowed to a namespace may place
# tables, views and namespace locations only under that namespace's location; warehouse-wide
# writers anywhere in the warehouse. Each operation that places a location is tried by each
# kind of writer, once inside the narrowed writer's namespace and once inside another one's,
# there over the files of a table dropped without purge.

PLACING = "placing"  # the narrowed writer's grant; each world is a fresh namespace below it
PLACER = "read-write narrowed to this namespace"
PLACERS = [PLACER, "read-write", "admin"]
SIDES = ["its own namespace", "another namespace"]


@dataclass
class Side:
    """Where a request places things: a namespace folder, a dropped table's location there,
    and table and view metadata files there that nothing uses."""

    folder: str
    dropped_table: str
    loose_table_metadata: str
    loose_view_metadata: str


@dataclass
class PlacementWorld:
    levels: list[str]  # the namespace every request is sent to, below PLACING
    sides: dict[str, Side]

    @property
    def path(self) -> str:
        return "/v1/default/namespaces/" + "%1F".join(self.levels)


def build_side(http: httpx.Client, levels: list[str]) -> Side:
    path = "/namespaces/" + "%1F".join(levels)
    dropped = http.post(f"{path}/tables", json={"name": "gone", "schema": SCHEMA}).json()
    http.delete(f"{path}/tables/gone")
    loose = http.post(f"{path}/tables", json={"name": "loose", "schema": SCHEMA}).json()
    http.post(f"{path}/tables/loose/unregister")
    view = {"name": "gone_v", "schema": SCHEMA, "view-version": view_version("SELECT 4")}
    loose_view = http.post(f"{path}/views", json=view).json()
    http.delete(f"{path}/views/gone_v")
    table_location: str = dropped["metadata"]["location"]
    return Side(
        table_location.rsplit("/", 1)[0],
        table_location,
        loose["metadata-location"],
        loose_view["metadata-location"],
    )


def build_placement_world(catalog_server: CatalogServer) -> PlacementWorld:
    suffix = uuid.uuid4().hex[:10]
    mine, theirs = [PLACING, f"p_{suffix}"], [f"q_{suffix}"]
    with httpx.Client(
        base_url=f"{catalog_server.url}/v1/default", headers=catalog_server.auth_headers
    ) as http:
        http.post("/namespaces", json={"namespace": [PLACING]})
        for levels in (mine, theirs):
            assert http.post("/namespaces", json={"namespace": levels}).status_code == 200
        path = "/namespaces/" + "%1F".join(mine)
        assert http.post(f"{path}/tables", json={"name": "t", "schema": SCHEMA}).is_success
        view = {"name": "v", "schema": SCHEMA, "view-version": view_version("SELECT 5")}
        assert http.post(f"{path}/views", json=view).is_success
        sides = {SIDES[0]: build_side(http, mine), SIDES[1]: build_side(http, theirs)}
    return PlacementWorld(mine, sides)


def set_location(location: str) -> list[dict[str, Any]]:
    return [{"action": "set-location", "location": location}]


PLACEMENTS: dict[str, Callable[[PlacementWorld, Side], Request]] = {
    "createTable": lambda w, s: (
        "POST",
        f"{w.path}/tables",
        {"json": {"name": "n", "schema": SCHEMA, "location": s.dropped_table}},
    ),
    "createTable staged": lambda w, s: (
        "POST",
        f"{w.path}/tables",
        {
            "json": {
                "name": "n",
                "schema": SCHEMA,
                "location": s.dropped_table,
                "stage-create": True,
            }
        },
    ),
    "registerTable": lambda w, s: (
        "POST",
        f"{w.path}/register",
        {"json": {"name": "r", "metadata-location": s.loose_table_metadata}},
    ),
    "updateTable set-location": lambda w, s: (
        "POST",
        f"{w.path}/tables/t",
        {"json": {"updates": set_location(s.dropped_table)}},
    ),
    "commitTransaction set-location": lambda w, s: (
        "POST",
        "/v1/default/transactions/commit",
        {
            "json": {
                "table-changes": [
                    {
                        "identifier": {"namespace": w.levels, "name": "t"},
                        "updates": set_location(s.dropped_table),
                    }
                ]
            }
        },
    ),
    "createNamespace location": lambda w, s: (
        "POST",
        "/v1/default/namespaces",
        {
            "json": {
                "namespace": [*w.levels, "child"],
                "properties": {"location": f"{s.folder}/child"},
            }
        },
    ),
    "updateProperties location": lambda w, s: (
        "POST",
        f"{w.path}/properties",
        {"json": {"updates": {"location": f"{s.folder}/moved"}}},
    ),
    "createView": lambda w, s: (
        "POST",
        f"{w.path}/views",
        {
            "json": {
                "name": "nv",
                "schema": SCHEMA,
                "view-version": view_version("SELECT 6"),
                "location": f"{s.folder}/planted",
            }
        },
    ),
    "registerView": lambda w, s: (
        "POST",
        f"{w.path}/register-view",
        {"json": {"name": "rv", "metadata-location": s.loose_view_metadata}},
    ),
    "replaceView set-location": lambda w, s: (
        "POST",
        f"{w.path}/views/v",
        {"json": {"updates": set_location(f"{s.folder}/planted")}},
    ),
}


def placement_state(server: CatalogServer, world: PlacementWorld) -> Any:
    """Everything a refused placement could have changed, the other side's files included."""
    with httpx.Client(base_url=f"{server.url}/v1/default", headers=server.auth_headers) as http:
        path = "/namespaces/" + "%1F".join(world.levels)
        dropped = world.sides[SIDES[1]].dropped_table
        return (
            http.get(path).json(),
            http.get("/namespaces", params={"parent": "\x1f".join(world.levels)}).json(),
            http.get(f"{path}/tables").json(),
            http.get(f"{path}/views").json(),
            http.get(f"{path}/tables/t").json(),
            http.get(f"{path}/views/v").json(),
            sorted(str(p) for p in local_path(dropped).rglob("*")),
        )


@pytest.fixture(scope="module")
def placement_worlds(matrix_server: CatalogServer) -> Worlds[PlacementWorld]:
    return Worlds(matrix_server, build_placement_world)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("caller", PLACERS)
@pytest.mark.parametrize("operation", sorted(PLACEMENTS))
def test_location_placement_matrix(
    matrix_server: CatalogServer,
    tokens: dict[str, str | None],
    placement_worlds: Worlds[PlacementWorld],
    operation: str,
    caller: str,
    side: str,
) -> None:
    world = placement_worlds.get()
    method, path, options = PLACEMENTS[operation](world, world.sides[side])
    headers = {"Authorization": f"Bearer {tokens[caller]}"}
    refused = caller == PLACER and side != SIDES[0]
    before = placement_state(matrix_server, world) if refused else None

    response = httpx.request(method, f"{matrix_server.url}{path}", headers=headers, **options)

    if not refused:
        placement_worlds.spoil()
        assert response.is_success, response.text
        return
    assert response.status_code == 403, response.text
    assert response.json()["error"]["type"] == "ForbiddenException"
    assert placement_state(matrix_server, world) == before, "a refused placement changed something"
