"""HTTP preconditions (RFC 7232) as S3 and R2 apply them to reads and writes.

Reads: If-Match/If-Unmodified-Since fail with 412, If-None-Match/If-Modified-Since
with 304, and a passing If-Match overrides If-Unmodified-Since (S3's documented rule).
Writes (R2's conditional PutObject/CompleteMultipartUpload/CopyObject destination):
any failing condition is 412, checked inside the index transaction so it still holds
when the new object becomes visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from storage.s3 import errors
from storage.s3.headers import Headers


class NotModified(Exception):
    """Not an error document: a bare 304 carrying the object's validators."""

    def __init__(self, etag: str, last_modified_ns: int) -> None:
        super().__init__("not modified")
        self.etag = etag
        self.last_modified_ns = last_modified_ns


@dataclass(frozen=True)
class ObjectState:
    etag: str
    last_modified_ns: int

    @property
    def seconds(self) -> int:
        return self.last_modified_ns // 1_000_000_000


def _parse_date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        parsed: datetime = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return int(parsed.timestamp())


def etag_matches(header: str, etag: str) -> bool:
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag == etag:
            return True
    return False


@dataclass(frozen=True)
class Preconditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: int | None = None
    if_unmodified_since: int | None = None

    @classmethod
    def from_headers(cls, headers: Headers, prefix: str = "") -> Preconditions:
        return cls(
            if_match=headers.get(f"{prefix}if-match"),
            if_none_match=headers.get(f"{prefix}if-none-match"),
            if_modified_since=_parse_date(headers.get(f"{prefix}if-modified-since")),
            if_unmodified_since=_parse_date(headers.get(f"{prefix}if-unmodified-since")),
        )

    @property
    def any(self) -> bool:
        return any(
            v is not None
            for v in (
                self.if_match,
                self.if_none_match,
                self.if_modified_since,
                self.if_unmodified_since,
            )
        )

    def check_read(self, state: ObjectState) -> None:
        if self.if_match is not None:
            if not etag_matches(self.if_match, state.etag):
                raise errors.PreconditionFailed(Condition="If-Match")
        elif self.if_unmodified_since is not None and state.seconds > self.if_unmodified_since:
            raise errors.PreconditionFailed(Condition="If-Unmodified-Since")
        if self.if_none_match is not None:
            if etag_matches(self.if_none_match, state.etag):
                raise NotModified(state.etag, state.last_modified_ns)
        elif self.if_modified_since is not None and state.seconds <= self.if_modified_since:
            raise NotModified(state.etag, state.last_modified_ns)

    def check_copy_source(self, state: ObjectState) -> None:
        """CopyObject's x-amz-copy-source-if-* headers: every failure is a 412."""
        try:
            self.check_read(state)
        except NotModified as exc:
            raise errors.PreconditionFailed() from exc

    def check_write(self, state: ObjectState | None) -> None:
        if self.if_match is not None and (
            state is None or not etag_matches(self.if_match, state.etag)
        ):
            raise errors.PreconditionFailed(Condition="If-Match")
        if (
            self.if_none_match is not None
            and state is not None
            and etag_matches(self.if_none_match, state.etag)
        ):
            raise errors.PreconditionFailed(Condition="If-None-Match")
        if state is not None:
            if self.if_modified_since is not None and state.seconds <= self.if_modified_since:
                raise errors.PreconditionFailed(Condition="If-Modified-Since")
            if self.if_unmodified_since is not None and state.seconds > self.if_unmodified_since:
                raise errors.PreconditionFailed(Condition="If-Unmodified-Since")
