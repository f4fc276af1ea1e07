"""Response bodies built from the stored metadata text without parsing it again.

loadTable is the hot path of every engine; the metadata JSON is kept verbatim in the store, so
the body is that text framed by a few encoded fields.
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def load_result(
    metadata_location: str | None,
    metadata_json: str,
    config: dict[str, str],
    storage_credentials: list[dict[str, object]] | None = None,
) -> bytes:
    head = b'{"metadata-location":' + dumps(metadata_location) if metadata_location else b"{"
    separator = b"," if metadata_location else b""
    return (
        head
        + separator
        + b'"metadata":'
        + metadata_json.encode("utf-8")
        + _config_tail(config, storage_credentials)
    )


def _config_tail(
    config: dict[str, str], storage_credentials: list[dict[str, object]] | None
) -> bytes:
    return (
        b',"config":'
        + dumps(config)
        + (b',"storage-credentials":' + dumps(storage_credentials) if storage_credentials else b"")
        + b"}"
    )


_NO_CONFIG = _config_tail({}, None)


def with_config(
    plain_body: bytes, config: dict[str, str], storage_credentials: list[dict[str, object]]
) -> bytes:
    """`load_result`'s body with `config` and credentials, from the one it made without: a
    delegated load reuses the body cached for the table's version instead of re-framing the
    whole metadata text."""
    if not config and not storage_credentials:
        return plain_body
    return plain_body[: -len(_NO_CONFIG)] + _config_tail(config, storage_credentials)


def commit_result(metadata_location: str, metadata_json: str | bytes) -> bytes:
    """The spec's CommitTableResponse; `metadata_json` is the stored text, or already its
    UTF-8 bytes (a commit has them from serializing the document)."""
    text = metadata_json if isinstance(metadata_json, bytes) else metadata_json.encode("utf-8")
    # One join: `+` copied the whole document once per operand after it.
    return b"".join(
        (b'{"metadata-location":', dumps(metadata_location), b',"metadata":', text, b"}")
    )


def only_referenced_snapshots(metadata_json: str) -> str:
    """`snapshots=refs`: keep the snapshots that a branch or tag points at."""
    metadata = orjson.loads(metadata_json)
    refs = metadata.get("refs") or {}
    heads = {ref.get("snapshot-id") for ref in refs.values()}
    if metadata.get("current-snapshot-id") not in (None, -1):
        heads.add(metadata["current-snapshot-id"])
    metadata["snapshots"] = [
        s for s in metadata.get("snapshots") or [] if s["snapshot-id"] in heads
    ]
    return orjson.dumps(metadata).decode("utf-8")
