"""Bucket CORS rules, as S3 and R2 define them: which origins may call the bucket from a
browser, with which methods and request headers, and what the browser may see.

The rules live in the bucket's own index (one `cors` row, as JSON), so every process
serving the data directory answers with the same rules. A rule matches a request when its
origin matches exactly (one `*` wildcard allowed), its methods include the request's, and
(for a preflight) every header the browser will send is allowed (case-insensitively, one `*`
wildcard allowed). Only a request with an `Origin` header gets CORS headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import orjson

from storage.s3 import errors
from storage.s3.xmlio import _children, _local, _parse, _text, document, el

METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD"})
MAX_RULES = 100
META_KEY = "cors"


@dataclass(frozen=True)
class CorsRule:
    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None
    id: str | None = None

    def allows(self, origin: str, method: str, headers: Sequence[str] = ()) -> bool:
        return (
            any(_wildcard(pattern, origin) for pattern in self.allowed_origins)
            and method in self.allowed_methods
            and all(
                any(_wildcard(p.lower(), h.lower()) for p in self.allowed_headers) for h in headers
            )
        )


def _wildcard(pattern: str, value: str) -> bool:
    if "*" not in pattern:
        return pattern == value
    head, _, tail = pattern.partition("*")
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


def _valid_origin(origin: str) -> bool:
    if origin == "*":
        return True
    if origin.count("*") > 1:
        return False
    parts = urlsplit(origin.replace("*", "wildcard"))
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not parts.path
        and not parts.query
        and not parts.fragment
    )


def parse_rules(body: bytes) -> list[CorsRule]:
    """A PutBucketCors body; MalformedXML or InvalidArgument for what S3 and R2 refuse."""
    root = _parse(body)
    if _local(root.tag) != "CORSConfiguration":
        raise errors.MalformedXML()
    elements = _children(root, "CORSRule")
    if not elements or len(elements) > MAX_RULES:
        raise errors.MalformedXML()
    rules: list[CorsRule] = []
    for element in elements:
        origins = tuple((e.text or "").strip() for e in _children(element, "AllowedOrigin"))
        methods = tuple((e.text or "").strip() for e in _children(element, "AllowedMethod"))
        headers = tuple((e.text or "").strip() for e in _children(element, "AllowedHeader"))
        expose = tuple((e.text or "").strip() for e in _children(element, "ExposeHeader"))
        max_age = _text(element, "MaxAgeSeconds")
        if not origins or not methods:
            raise errors.MalformedXML()
        for origin in origins:
            if not _valid_origin(origin):
                raise errors.InvalidArgument(f"Invalid AllowedOrigin: {origin!r}")
        for method in methods:
            if method not in METHODS:
                raise errors.InvalidArgument(
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}"
                )
        if any(not h or h.count("*") > 1 for h in headers) or any(not h for h in expose):
            raise errors.InvalidArgument("AllowedHeader and ExposeHeader cannot be empty.")
        if max_age is not None and not max_age.strip().isdigit():
            raise errors.InvalidArgument("MaxAgeSeconds must be a non-negative integer.")
        rules.append(
            CorsRule(
                origins,
                methods,
                headers,
                expose,
                int(max_age) if max_age is not None else None,
                _text(element, "ID"),
            )
        )
    return rules


def rules_document(rules: Sequence[CorsRule]) -> bytes:
    parts: list[str] = []
    for rule in rules:
        parts.append("<CORSRule>")
        if rule.id is not None:
            parts.append(el("ID", rule.id))
        parts += [el("AllowedOrigin", o) for o in rule.allowed_origins]
        parts += [el("AllowedMethod", m) for m in rule.allowed_methods]
        parts += [el("AllowedHeader", h) for h in rule.allowed_headers]
        parts += [el("ExposeHeader", h) for h in rule.expose_headers]
        if rule.max_age_seconds is not None:
            parts.append(el("MaxAgeSeconds", rule.max_age_seconds))
        parts.append("</CORSRule>")
    return document("CORSConfiguration", parts)


def dump_rules(rules: Sequence[CorsRule]) -> str:
    return orjson.dumps([asdict(rule) for rule in rules]).decode()


def load_rules(stored: str | None) -> list[CorsRule]:
    if not stored:
        return []
    return [
        CorsRule(
            tuple(r["allowed_origins"]),
            tuple(r["allowed_methods"]),
            tuple(r["allowed_headers"]),
            tuple(r["expose_headers"]),
            r["max_age_seconds"],
            r["id"],
        )
        for r in orjson.loads(stored)
    ]


def first_match(
    rules: Sequence[CorsRule], origin: str, method: str, headers: Sequence[str] = ()
) -> CorsRule | None:
    return next((rule for rule in rules if rule.allows(origin, method, headers)), None)


def response_headers(
    rule: CorsRule, origin: str, requested_headers: Sequence[str] = (), *, preflight: bool
) -> list[tuple[str, str]]:
    """The Access-Control-* headers S3 sends for a request `rule` matched."""
    allow_origin = "*" if rule.allowed_origins == ("*",) else origin
    headers = [
        ("access-control-allow-origin", allow_origin),
        ("access-control-allow-methods", ", ".join(rule.allowed_methods)),
        ("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
    ]
    if preflight and requested_headers:
        headers.append(("access-control-allow-headers", ", ".join(requested_headers)))
    if rule.expose_headers:
        headers.append(("access-control-expose-headers", ", ".join(rule.expose_headers)))
    if rule.max_age_seconds is not None:
        headers.append(("access-control-max-age", str(rule.max_age_seconds)))
    return headers


def console_rule(origins: Sequence[str]) -> CorsRule:
    """The rule `serve` gives the bucket it creates: its console may PUT an upload there."""
    return CorsRule(
        tuple(origins),
        ("PUT",),
        ("content-type",),
        ("ETag",),
        3600,
        "icefloe-console",
    )
