"""What a handler returns: status, headers, and a body that is bytes or a byte stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

XML_CONTENT_TYPE = b"application/xml"


@dataclass
class Response:
    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    stream: AsyncGenerator[bytes, None] | None = None
    content_length: int | None = None
    """For streams and HEAD: the length to announce instead of len(body)."""
    omit_body: bool = False

    def header(self, name: str, value: str) -> None:
        self.headers.append((name.encode("latin-1"), value.encode("latin-1", "replace")))


def xml_response(body: bytes, status: int = 200) -> Response:
    return Response(status=status, headers=[(b"content-type", XML_CONTENT_TYPE)], body=body)


def empty(status: int = 200) -> Response:
    return Response(status=status)
