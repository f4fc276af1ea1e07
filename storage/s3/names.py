"""Validation of bucket names and object keys, shared by the API and the credential issuer."""

from __future__ import annotations

import re

from storage.s3 import errors

MAX_KEY_BYTES = 1024

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def is_valid_bucket_name(name: str) -> bool:
    """S3's bucket naming rules; they also make a bucket name safe as a directory name."""
    return (
        bool(_BUCKET_RE.match(name))
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and not _IPV4_RE.match(name)
    )


def check_bucket_name(name: str) -> None:
    if not is_valid_bucket_name(name):
        raise errors.InvalidBucketName(BucketName=name)


def check_key(key: str) -> None:
    """Refuse keys S3 refuses; the key never reaches the filesystem, so nothing else matters."""
    if not key:
        raise errors.InvalidArgument("Object key must not be empty.")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise errors.KeyTooLongError()


def has_dot_segments(key: str) -> bool:
    """True for keys that a path-normalising consumer would resolve elsewhere (`a/../b`)."""
    return any(segment in (".", "..") for segment in key.split("/"))
