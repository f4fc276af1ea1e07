"""The flexible checksums S3 clients attach to uploads (x-amz-checksum-*).

Current SDKs send a CRC32 trailer on every PutObject/UploadPart by default, and may
send CRC32C, CRC64/NVME, SHA-1 or SHA-256.  We verify them so a corrupted body is
refused instead of stored.  CRC32 uses zlib; CRC32C and CRC64/NVME use awscrt's C
implementations (the standard library has neither; awscrt is what the AWS SDKs use
to compute them, so we agree with the clients by construction).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol

from awscrt import checksums as crt_checksums  # type: ignore[import-untyped]

CHECKSUM_ALGORITHMS: tuple[str, ...] = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")


class Checksum(Protocol):
    def update(self, data: bytes | memoryview) -> None: ...

    def digest(self) -> bytes: ...


class _CrtCrc:
    """A CRC from awscrt's C implementation, fed incrementally."""

    _width_bytes: int

    def __init__(self) -> None:
        self._crc = 0

    def _update(self, data: bytes | memoryview, previous: int) -> int:
        raise NotImplementedError

    def update(self, data: bytes | memoryview) -> None:
        self._crc = self._update(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(self._width_bytes, "big")


class Crc32c(_CrtCrc):
    _width_bytes = 4

    def _update(self, data: bytes | memoryview, previous: int) -> int:
        return int(crt_checksums.crc32c(data, previous))


class Crc64Nvme(_CrtCrc):
    _width_bytes = 8

    def _update(self, data: bytes | memoryview, previous: int) -> int:
        return int(crt_checksums.crc64nvme(data, previous))


class Crc32:
    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: bytes | memoryview) -> None:
        self._crc = zlib.crc32(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(4, "big")


def new_checksum(algorithm: str) -> Checksum:
    """A fresh checksum for an algorithm name as used in x-amz-checksum-<name>."""
    name = algorithm.upper()
    if name == "CRC32":
        return Crc32()
    if name == "CRC32C":
        return Crc32c()
    if name == "CRC64NVME":
        return Crc64Nvme()
    if name == "SHA1":
        return hashlib.sha1(usedforsecurity=False)
    if name == "SHA256":
        return hashlib.sha256()
    raise ValueError(f"unsupported checksum algorithm {algorithm!r}")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


CRC_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME")


def full_object_crc(algorithm: str, parts: list[tuple[bytes, int]]) -> str:
    """The CRC of a whole multipart object from its parts' (CRC digest, size), base64:
    S3's FULL_OBJECT checksum type, combined without re-reading the bytes."""
    combine = {
        "CRC32": crt_checksums.combine_crc32,
        "CRC32C": crt_checksums.combine_crc32c,
        "CRC64NVME": crt_checksums.combine_crc64nvme,
    }[algorithm]
    width = len(parts[0][0])
    crc = int.from_bytes(parts[0][0], "big")
    for digest, size in parts[1:]:
        crc = int(combine(crc, int.from_bytes(digest, "big"), size))
    return b64(crc.to_bytes(width, "big"))


def composite(algorithm: str, part_digests: list[bytes]) -> str:
    """S3's COMPOSITE checksum of a multipart object: the checksum of the parts'
    concatenated raw checksums, base64, then `-<number of parts>`."""
    checksum = new_checksum(algorithm)
    checksum.update(b"".join(part_digests))
    return f"{b64(checksum.digest())}-{len(part_digests)}"
