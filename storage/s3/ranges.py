"""Range requests, with S3's reading of the edge cases.

A syntactically invalid or multi-range header is ignored (the whole object is sent,
status 200), as S3 does; a well-formed range that starts past the end is 416.
"""

from __future__ import annotations

import re

from storage.s3 import errors

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a satisfiable range, None to send the whole object."""
    if header is None:
        return None
    match = _RANGE_RE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise errors.InvalidRange(size)
        return max(0, size - suffix), size
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise errors.InvalidRange(size)
    end = size if last == "" else min(int(last) + 1, size)
    return start, end
