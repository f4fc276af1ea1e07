"""The event types and the CloudEvents 1.0 envelope (structured JSON mode).

The envelope is a plain pydantic model rather than the `cloudevents` SDK: we only ever write
structured JSON with a fixed set of attributes, serialize it once (in the change's
transaction) and send the stored bytes verbatim, so the SDK's bindings, formats and
conversions would be code we carry without using, and its `CloudEvent` is untyped
attribute access where ours is checked by mypy.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

PREFIX = "io.icefloe"


class EventType(StrEnum):
    """Every kind of change event. A new kind is one line here, and one `tx.emit` where the
    change is made."""

    NAMESPACE_CREATED = f"{PREFIX}.namespace.created"
    NAMESPACE_UPDATED = f"{PREFIX}.namespace.updated"
    NAMESPACE_DROPPED = f"{PREFIX}.namespace.dropped"
    TABLE_CREATED = f"{PREFIX}.table.created"
    TABLE_COMMITTED = f"{PREFIX}.table.committed"
    TABLE_RENAMED = f"{PREFIX}.table.renamed"
    TABLE_DROPPED = f"{PREFIX}.table.dropped"
    TABLE_REGISTERED = f"{PREFIX}.table.registered"
    TABLE_UNREGISTERED = f"{PREFIX}.table.unregistered"
    TABLE_UNDROPPED = f"{PREFIX}.table.undropped"
    VIEW_CREATED = f"{PREFIX}.view.created"
    VIEW_REPLACED = f"{PREFIX}.view.replaced"
    VIEW_RENAMED = f"{PREFIX}.view.renamed"
    VIEW_DROPPED = f"{PREFIX}.view.dropped"
    VIEW_REGISTERED = f"{PREFIX}.view.registered"
    VIEW_UNDROPPED = f"{PREFIX}.view.undropped"
    FUNCTION_CREATED = f"{PREFIX}.function.created"
    FUNCTION_REPLACED = f"{PREFIX}.function.replaced"
    FUNCTION_DROPPED = f"{PREFIX}.function.dropped"
    FUNCTION_UNDROPPED = f"{PREFIX}.function.undropped"


@dataclass(frozen=True)
class ChangeEvent:
    """One change, as the service knows it. `stream` is the id of the namespace, table or
    view changed: events of one stream are delivered in the order they were committed."""

    type: EventType
    warehouse: str
    stream: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


def namespace_event(
    kind: EventType,
    warehouse: str,
    namespace_id: str,
    levels: Sequence[str],
    data: dict[str, Any] | None = None,
) -> ChangeEvent:
    body = {"warehouse": warehouse, "namespace": list(levels), **(data or {})}
    return ChangeEvent(kind, warehouse, namespace_id, ".".join(levels), body)


def object_event(
    kind: EventType,
    warehouse: str,
    object_id: str,
    namespace: Sequence[str],
    name: str,
    data: dict[str, Any] | None = None,
) -> ChangeEvent:
    body = {"warehouse": warehouse, "namespace": list(namespace), "name": name, **(data or {})}
    return ChangeEvent(kind, warehouse, object_id, ".".join((*namespace, name)), body)


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode, with the partitioning extension's
    `partitionkey` (the stream: consumers that shard keep one table's events together)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    partitionkey: str
    data: dict[str, Any]


def envelope(change: ChangeEvent, source: str, time: datetime) -> CloudEvent:
    return CloudEvent(
        id=change.id,
        source=f"{source}/v1/{change.warehouse}",
        type=change.type.value,
        subject=change.subject,
        time=time,
        partitionkey=change.stream,
        data=change.data,
    )
