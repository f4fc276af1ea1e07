"""The flexible checksums S3 clients attach to uploads (x-amz-checksum-*).

Current SDKs send a CRC32 trailer on every PutObject/UploadPart by default, and may
send CRC32C, CRC64/NVME, SHA-1 or SHA-256.  We verify them so a corrupted body is
refused instead of stored.  CRC32 uses zlib; CRC32C and CRC64/NVME are table-driven
(slicing-by-8) because the standard library has neither.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol

CHECKSUM_ALGORITHMS: tuple[str, ...] = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")


class Checksum(Protocol):
    def update(self, data: bytes | memoryview) -> None: ...

    def digest(self) -> bytes: ...


def _reflected_tables(poly: int) -> list[list[int]]:
    """Build the eight slicing-by-8 tables for a reflected CRC polynomial."""
    first = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        first.append(crc)
    tables = [first]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(prev[i] >> 8) ^ first[prev[i] & 0xFF] for i in range(256)])
    return tables


class _ReflectedCrc:
    """A reflected CRC with init and final XOR of all ones (CRC32C, CRC64/NVME)."""

    _tables: list[list[int]]
    _mask: int
    _width_bytes: int

    def __init__(self) -> None:
        self._crc = self._mask

    def update(self, data: bytes | memoryview) -> None:
        t0, t1, t2, t3, t4, t5, t6, t7 = self._tables
        crc = self._crc
        view = memoryview(data).cast("B")
        whole = len(view) - len(view) % 8
        if whole:
            words = view[:whole].cast("Q")
            for word in words:
                crc ^= word
                crc = (
                    t7[crc & 0xFF]
                    ^ t6[(crc >> 8) & 0xFF]
                    ^ t5[(crc >> 16) & 0xFF]
                    ^ t4[(crc >> 24) & 0xFF]
                    ^ t3[(crc >> 32) & 0xFF]
                    ^ t2[(crc >> 40) & 0xFF]
                    ^ t1[(crc >> 48) & 0xFF]
                    ^ t0[crc >> 56]
                )
        for byte in view[whole:]:
            crc = (crc >> 8) ^ t0[(crc ^ byte) & 0xFF]
        self._crc = crc

    def digest(self) -> bytes:
        return (self._crc ^ self._mask).to_bytes(self._width_bytes, "big")


_CRC32C_TABLES = _reflected_tables(0x82F63B78)
_CRC64NVME_TABLES = _reflected_tables(0x9A6C9329AC4BC9B5)


class Crc32c(_ReflectedCrc):
    _tables = _CRC32C_TABLES
    _mask = 0xFFFFFFFF
    _width_bytes = 4

    def update(self, data: bytes | memoryview) -> None:
        # A 32-bit CRC consumes a 64-bit word as two 32-bit halves; the tables above
        # are laid out for that when the high half of the state is zero.
        t0 = self._tables[0]
        t1, t2, t3, t4, t5, t6, t7 = self._tables[1:]
        crc = self._crc
        view = memoryview(data).cast("B")
        whole = len(view) - len(view) % 8
        if whole:
            for word in view[:whole].cast("Q"):
                low = (word & 0xFFFFFFFF) ^ crc
                high = word >> 32
                crc = (
                    t7[low & 0xFF]
                    ^ t6[(low >> 8) & 0xFF]
                    ^ t5[(low >> 16) & 0xFF]
                    ^ t4[low >> 24]
                    ^ t3[high & 0xFF]
                    ^ t2[(high >> 8) & 0xFF]
                    ^ t1[(high >> 16) & 0xFF]
                    ^ t0[high >> 24]
                )
        for byte in view[whole:]:
            crc = (crc >> 8) ^ t0[(crc ^ byte) & 0xFF]
        self._crc = crc


class Crc64Nvme(_ReflectedCrc):
    _tables = _CRC64NVME_TABLES
    _mask = 0xFFFFFFFFFFFFFFFF
    _width_bytes = 8


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
