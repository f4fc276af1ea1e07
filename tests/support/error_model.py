"""The spec's ErrorModel, checked the same way everywhere."""

from __future__ import annotations

from typing import Any, Protocol


class AnyResponse(Protocol):
    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Any: ...
    def json(self) -> Any: ...


def assert_error(response: AnyResponse, status: int, error_type: str | None = None) -> str:
    """`{"error": {"message", "type", "code"}}` with this status (and type); returns the message."""
    try:
        body = response.json()
    except ValueError:
        body = None
    assert response.status_code == status, (response.status_code, body)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert {"message", "type", "code"} <= set(error), error
    assert error["code"] == status, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["type"], str) and error["type"], error
    if error_type is not None:
        assert error["type"] == error_type, error
    message: str = error["message"]
    return message
