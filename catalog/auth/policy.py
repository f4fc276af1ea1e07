"""The privilege table: which permission each operation needs, and on what.

One row per operation of the REST spec and of the admin API; `tests/integration/
test_authorization_matrix.py` walks every row. Targets are taken from the request itself
(path, query, body) before the service runs, so a refused caller learns nothing about what
exists behind the namespace it may not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from catalog.auth.principal import Permission


class Target(Enum):
    WAREHOUSE = "warehouse"  # anything in the warehouse (config, top-level listings)
    PATH_NAMESPACE = "path-namespace"  # the {namespace} path parameter
    PARENT_NAMESPACE = "parent-namespace"  # listNamespaces' ?parent=
    BODY_NAMESPACE = "body-namespace"  # createNamespace's body
    RENAME = "rename"  # source and destination namespaces of a rename
    TRANSACTION = "transaction"  # every table's namespace in a transaction
    CATALOG = "catalog"  # the whole catalog: admin operations
    NONE = "none"  # open to any authenticated caller


@dataclass(frozen=True)
class Rule:
    permission: Permission
    target: Target
    audited: bool


def _read(target: Target) -> Rule:
    return Rule(Permission.READ, target, audited=False)


def _write(target: Target) -> Rule:
    return Rule(Permission.WRITE, target, audited=True)


ADMIN = Rule(Permission.ADMIN, Target.CATALOG, audited=True)
ADMIN_READ = Rule(Permission.ADMIN, Target.CATALOG, audited=False)

POLICY: dict[str, Rule] = {
    "getConfig": _read(Target.WAREHOUSE),
    "listNamespaces": _read(Target.PARENT_NAMESPACE),
    "createNamespace": _write(Target.BODY_NAMESPACE),
    "loadNamespaceMetadata": _read(Target.PATH_NAMESPACE),
    "namespaceExists": _read(Target.PATH_NAMESPACE),
    "dropNamespace": _write(Target.PATH_NAMESPACE),
    "updateProperties": _write(Target.PATH_NAMESPACE),
    "listTables": _read(Target.PATH_NAMESPACE),
    "createTable": _write(Target.PATH_NAMESPACE),
    "registerTable": _write(Target.PATH_NAMESPACE),
    "loadTable": _read(Target.PATH_NAMESPACE),
    "loadCredentials": _read(Target.PATH_NAMESPACE),
    "signRequest": _read(Target.PATH_NAMESPACE),  # writes are checked per request signed
    "signS3Request": _read(Target.NONE),  # the table is found from the URL, then checked
    "tableExists": _read(Target.PATH_NAMESPACE),
    "updateTable": _write(Target.PATH_NAMESPACE),
    "dropTable": _write(Target.PATH_NAMESPACE),
    "unregisterTable": _write(Target.PATH_NAMESPACE),
    "reportMetrics": _read(Target.PATH_NAMESPACE),  # scan reports come from readers
    "renameTable": _write(Target.RENAME),
    "commitTransaction": _write(Target.TRANSACTION),
    "planTableScan": _read(Target.PATH_NAMESPACE),
    "fetchPlanningResult": _read(Target.PATH_NAMESPACE),
    "cancelPlanning": _read(Target.PATH_NAMESPACE),
    "fetchScanTasks": _read(Target.PATH_NAMESPACE),
    "listViews": _read(Target.PATH_NAMESPACE),
    "createView": _write(Target.PATH_NAMESPACE),
    "registerView": _write(Target.PATH_NAMESPACE),
    "loadView": _read(Target.PATH_NAMESPACE),
    "viewExists": _read(Target.PATH_NAMESPACE),
    "replaceView": _write(Target.PATH_NAMESPACE),
    "dropView": _write(Target.PATH_NAMESPACE),
    "renameView": _write(Target.RENAME),
    "listFunctions": _read(Target.PATH_NAMESPACE),
    "loadFunction": _read(Target.PATH_NAMESPACE),
    # admin API, governed like the catalog's own writes: a namespace's writers define its
    # functions
    "createFunction": _write(Target.PATH_NAMESPACE),
    "replaceFunction": _write(Target.PATH_NAMESPACE),
    "dropFunction": _write(Target.PATH_NAMESPACE),
    # admin API
    "listWarehouses": ADMIN_READ,
    "createWarehouse": ADMIN,
    "deleteWarehouse": ADMIN,
    "listTokens": ADMIN_READ,
    "createToken": ADMIN,
    "revokeToken": ADMIN,
    "rotateToken": ADMIN,
    "listAuditEvents": ADMIN_READ,
    "getWarehouseMaintenancePolicy": ADMIN_READ,
    "setWarehouseMaintenancePolicy": ADMIN,
    "getTableMaintenancePolicy": ADMIN_READ,
    "setTableMaintenancePolicy": ADMIN,
    "runMaintenanceJob": ADMIN,
    "listMaintenanceRuns": ADMIN_READ,
    "getMaintenanceRun": ADMIN_READ,
    "listTrash": ADMIN_READ,
    "undropObject": ADMIN,
    "setTrashRetention": ADMIN,
    "expireTrash": ADMIN,
    "dropNamespaceRecursive": ADMIN,
    "protectNamespace": ADMIN,
    "unprotectNamespace": ADMIN,
    "protectTable": ADMIN,
    "unprotectTable": ADMIN,
    "protectView": ADMIN,
    "unprotectView": ADMIN,
    "getWarehouseApproval": ADMIN_READ,
    "setWarehouseApproval": ADMIN,
    "deleteWarehouseApproval": ADMIN,
    # any caller: each hit is filtered by the listing's rule (catalog.api.search)
    "searchCatalog": _read(Target.WAREHOUSE),
    "listEvents": ADMIN_READ,
    "listDeadLetters": ADMIN_READ,
    "getPrometheusMetrics": ADMIN_READ,
    # the web console's calls (catalog.api.console)
    "createTableUpload": _write(Target.PATH_NAMESPACE),
    "commitTableUpload": _write(Target.PATH_NAMESPACE),
    "createNamespaceUpload": _write(Target.PATH_NAMESPACE),
    "createTableFromUpload": _write(Target.PATH_NAMESPACE),
    "previewTable": _read(Target.PATH_NAMESPACE),
    "whoAmI": Rule(Permission.READ, Target.NONE, audited=False),
}
