"""The embedded store's Prometheus metrics: requests and bytes by S3 operation.

Defined here rather than with the catalog's (`catalog.observability.metrics`): the store
does not depend on the catalog. Both live in prometheus_client's one registry (or, with
several workers, its multiprocess files), so one scrape shows both.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

REQUESTS = Counter(
    "icefloe_s3_requests",
    "Embedded S3 store requests by operation (GetObject, PutObject, ...; '-' when the request "
    "could not be parsed) and status.",
    ["operation", "status"],
)
BYTES = Counter(
    "icefloe_s3_bytes",
    "Body bytes the embedded store received (in) and sent (out), by operation.",
    ["operation", "direction"],
)

_children: dict[tuple[str, int], tuple[Any, Any, Any]] = {}


def observe(operation: str, status: int, bytes_in: int, bytes_out: int) -> None:
    children = _children.get((operation, status))
    if children is None:
        children = (
            REQUESTS.labels(operation, str(status)),
            BYTES.labels(operation, "in"),
            BYTES.labels(operation, "out"),
        )
        _children[(operation, status)] = children
    children[0].inc()
    if bytes_in:
        children[1].inc(bytes_in)
    if bytes_out:
        children[2].inc(bytes_out)
