"""Settings of the embedded S3 endpoint; no environment reads, the caller decides."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_OBJECT_SIZE = 5 * 1024**4
DEFAULT_VIRTUAL_HOST_DOMAINS = ("localhost",)


@dataclass(frozen=True)
class S3ServerConfig:
    data_dir: Path
    root_access_key_id: str | None = None
    root_secret_access_key: str | None = None
    region: str = "auto"
    """Region clients sign for. `auto` (R2's), `us-east-1` and empty are always accepted."""
    max_object_size: int = DEFAULT_MAX_OBJECT_SIZE
    virtual_host_domains: tuple[str, ...] = DEFAULT_VIRTUAL_HOST_DOMAINS
    """Hosts `<bucket>.<domain>` are virtual-host style requests for `<bucket>`."""
    fsync: bool = True
    """fsync blobs and directories before a write is acknowledged (durable across power loss)."""
    io_threads: int = 16

    @property
    def accepted_regions(self) -> frozenset[str]:
        return frozenset({"auto", "us-east-1", "", self.region})
