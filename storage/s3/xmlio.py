"""S3's XML wire format: rendering responses and parsing the two request bodies we accept.

Rendering is string building with explicit escaping (fast, and exact about what goes
out).  Parsing is for DeleteObjects and CompleteMultipartUpload only, from bodies whose
size the caller has already capped; DTDs are refused outright, so no entity expansion
can happen, and anything unexpected is MalformedXML (a 400), never a 500.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from storage.s3 import errors
from storage.s3.checksums import CHECKSUM_ALGORITHMS

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_DELETE_KEYS = 1000

_ESCAPE_RE = re.compile('[&<>"\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')
_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or f"&#x{ord(char):X};"


def esc(text: str) -> str:
    """Escape for element text; control characters become character references, as in S3."""
    return _ESCAPE_RE.sub(_escape_char, text)


def iso8601(ns: int) -> str:
    moment = datetime.fromtimestamp(ns / 1e9, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def el(name: str, value: str | int | bool | None) -> str:
    if value is None:
        return f"<{name}/>"
    text = ("true" if value else "false") if isinstance(value, bool) else esc(str(value))
    return f"<{name}>{text}</{name}>"


def document(root: str, body: Iterable[str]) -> bytes:
    return (DECLARATION + f'<{root} xmlns="{NAMESPACE}">' + "".join(body) + f"</{root}>").encode(
        "utf-8"
    )


def url_encode(text: str) -> str:
    """encoding-type=url: percent-encode as S3 does (keeps '/', so '+' is never ambiguous)."""
    return quote(text, safe="/")


def error_document(
    code: str, message: str, resource: str, request_id: str, fields: dict[str, str]
) -> bytes:
    parts = [el("Code", code), el("Message", message)]
    parts += [el(name, value) for name, value in fields.items()]
    parts += [el("Resource", resource), el("RequestId", request_id), el("HostId", request_id)]
    return (DECLARATION + "<Error>" + "".join(parts) + "</Error>").encode("utf-8")


# --- parsing ------------------------------------------------------------------------------


def _parse(body: bytes) -> ET.Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body or b"<!doctype" in body:
        raise errors.MalformedXML()
    try:
        parser = ET.XMLParser()  # noqa: S314 - no DTD can reach it (checked above)
        parser.feed(body)
        return parser.close()
    except (ET.ParseError, ValueError, UnicodeError) as exc:
        raise errors.MalformedXML() from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _text(element: ET.Element, name: str) -> str | None:
    found = _children(element, name)
    if len(found) > 1:
        raise errors.MalformedXML()
    return None if not found else (found[0].text or "")


def parse_delete(body: bytes) -> tuple[list[str], bool]:
    """Keys of a DeleteObjects request, and whether Quiet mode was asked for."""
    root = _parse(body)
    if _local(root.tag) != "Delete":
        raise errors.MalformedXML()
    quiet = (_text(root, "Quiet") or "false").strip().lower() == "true"
    objects = _children(root, "Object")
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise errors.MalformedXML()
    keys: list[str] = []
    for obj in objects:
        key = _text(obj, "Key")
        if key is None:
            raise errors.MalformedXML()
        keys.append(key)
    return keys, quiet


@dataclass(frozen=True)
class RequestedPart:
    """One <Part> of a CompleteMultipartUpload request."""

    number: int
    etag: str
    checksums: dict[str, str]
    """Algorithm (CRC32, ...) -> base64 value, from <ChecksumCRC32> and the like."""


def parse_complete(body: bytes) -> list[RequestedPart]:
    """The parts of a CompleteMultipartUpload request, in request order."""
    root = _parse(body)
    if _local(root.tag) != "CompleteMultipartUpload":
        raise errors.MalformedXML()
    parts: list[RequestedPart] = []
    for part in _children(root, "Part"):
        number_text = _text(part, "PartNumber")
        etag = _text(part, "ETag")
        if number_text is None or etag is None:
            raise errors.MalformedXML()
        try:
            number = int(number_text.strip())
        except ValueError:
            raise errors.MalformedXML() from None
        if not 1 <= number <= 10_000:
            raise errors.InvalidArgument("Part number must be an integer between 1 and 10000.")
        checksums: dict[str, str] = {}
        for algorithm in CHECKSUM_ALGORITHMS:
            value = _text(part, f"Checksum{algorithm}")
            if value is not None:
                checksums[algorithm] = value.strip()
        parts.append(RequestedPart(number, etag.strip(), checksums))
    if not parts or len(parts) > 10_000:
        raise errors.MalformedXML()
    return parts
