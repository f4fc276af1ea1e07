"""GET /metrics: the Prometheus exposition, for catalog admins on the catalog's port, and for
anyone who can reach `--metrics-port` when that is set (a port meant for a private network,
where Prometheus scrapes without a token).

On the catalog's port it is an admin operation like the rest of the admin API: the figures
name operations and warehouses' vendors and tell how busy the catalog is. A Prometheus given a
token uses `authorization: {credentials_file: ...}` in its scrape config.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from catalog.api.errors import error_body
from catalog.api.responses import errors
from catalog.api.security import authorize
from catalog.observability import metrics

router = APIRouter(tags=["Observability"], dependencies=[Depends(authorize)])


@router.get(
    "/metrics",
    operation_id="getPrometheusMetrics",
    response_class=Response,
    responses=errors(401, 403),
)
async def get_metrics() -> Response:
    body = await run_in_threadpool(metrics.exposition)
    return Response(body, media_type=metrics.CONTENT_TYPE_LATEST)


class MetricsEndpoint:
    """The ASGI app of `--metrics-port`: GET /metrics, nothing else, no authentication."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != "/metrics" or scope["method"] not in ("GET", "HEAD"):
            status, body = 404, error_body(404, "Only GET /metrics is served on this port")
            content_type = b"application/json"
        else:
            status, body = 200, await run_in_threadpool(metrics.exposition)
            content_type = metrics.CONTENT_TYPE_LATEST.encode("latin-1")
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
