"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from catalog.api.errors import error_response
from catalog.api.responses import json_bytes

router = APIRouter(tags=["Health"], include_in_schema=False)


@router.get("/healthz")
async def healthz() -> Response:
    return json_bytes(b'{"status":"ok"}')


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    engine = request.app.state.engine

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except Exception as error:
        return error_response(503, f"Database unavailable: {type(error).__name__}")
    return json_bytes(b'{"status":"ready"}')
