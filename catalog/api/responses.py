"""Response helpers: bodies come from the service already encoded."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from catalog.protocol import IcebergErrorResponse


def json_bytes(
    body: bytes, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer with."""
    return {status: {"model": IcebergErrorResponse} for status in statuses}
