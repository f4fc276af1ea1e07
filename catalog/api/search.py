"""GET /admin/v1/search: find namespaces, tables, views and functions by name, column,
parameter, property or doc.

Open to any authenticated caller: every hit passes the decision that would let the caller list
it (`security.refusal` with the listing's privilege rule), so a namespace-narrowed token finds
only what its namespaces hold. A namespace hit needs read on the namespace itself, as loading
its properties does, since a hit may have matched on them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from catalog.api.deps import CatalogDep
from catalog.api.responses import errors, json_bytes
from catalog.api.security import Authorized, authorize, refusal
from catalog.auth.policy import POLICY
from catalog.auth.principal import Principal
from catalog.service.search import Visible, levels_of
from catalog.store.records import SearchHit

router = APIRouter(prefix="/admin/v1", tags=["Admin API"], dependencies=[Depends(authorize)])

#: The operation whose privilege rule decides whether a caller may see a hit of each kind.
_SEEN_THROUGH = {
    "namespace": "loadNamespaceMetadata",
    "table": "listTables",
    "view": "listViews",
    "function": "listFunctions",
}


def visible_to(principal: Principal) -> Visible:
    def visible(hit: SearchHit) -> bool:
        rule = POLICY[_SEEN_THROUGH[hit.kind]]
        return refusal(principal, rule, hit.warehouse, [levels_of(hit)]) is None

    return visible


@router.get("/search", operation_id="searchCatalog", responses=errors(400, 404))
async def search(
    catalog: CatalogDep,
    principal: Authorized,
    q: Annotated[str, Query(max_length=512, description="Words, each matched as a prefix.")],
    warehouse: Annotated[str | None, Query(description="Only this warehouse.")] = None,
    page_token: Annotated[str | None, Query(alias="pageToken")] = None,
    page_size: Annotated[int | None, Query(alias="pageSize")] = None,
) -> Response:
    body = await run_in_threadpool(
        catalog.search.search, q, warehouse, page_token, page_size, visible_to(principal)
    )
    return json_bytes(body)
