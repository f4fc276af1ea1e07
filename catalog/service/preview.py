"""A table's first rows for a person to look at: bounded in rows and in bytes.

The table is read through the maintenance catalog's confined storage (its own files only,
with credentials vended for its location), and only after the caller passed the read rule
of the table's namespace: a preview never shows more than the caller could read.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

import orjson

from catalog.maintenance.service_catalog import ServiceCatalog
from catalog.service.context import ServiceContext

MAX_LIMIT = 500
MAX_CELL_CHARS = 1000
_SAFE_INTEGER = 2**53  # JavaScript reads larger integers inexactly: sent as strings


def render_cell(value: Any) -> Any:
    """A JSON scalar a browser shows as it is: long texts cut, exotic values as strings."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < _SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        text = base64.b64encode(value[:MAX_CELL_CHARS]).decode("ascii")
    elif isinstance(value, str):
        text = value
    elif isinstance(value, dict | list | tuple):
        text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"


def preview(
    context: ServiceContext,
    warehouse: str,
    namespace: Sequence[str],
    name: str,
    limit: int,
    max_bytes: int,
) -> dict[str, Any]:
    table = ServiceCatalog(context, warehouse).load_table((*namespace, name))
    schema = table.schema()
    columns = [{"name": f.name, "type": str(f.field_type)} for f in schema.fields]
    snapshot = table.current_snapshot()
    if snapshot is None:
        return {"columns": columns, "rows": [], "truncated": False, "snapshot-id": None}
    data = table.scan(snapshot_id=snapshot.snapshot_id, limit=limit + 1).to_arrow()
    rows: list[list[Any]] = []
    size = 0
    truncated = data.num_rows > limit
    for record in data.slice(0, limit).to_pylist():
        row = [render_cell(record.get(column["name"])) for column in columns]
        size += len(orjson.dumps(row, default=str))
        if size > max_bytes:
            truncated = True
            break
        rows.append(row)
    return {
        "columns": columns,
        "rows": rows,
        "truncated": truncated,
        "snapshot-id": snapshot.snapshot_id,
    }
