"""Vending through an STS: AssumeRole with a session policy that allows one table's prefix.

For AWS S3 and for S3-compatible stores with an STS (MinIO's, at `sts-endpoint`). The role
grants what the catalog may delegate; the inline session policy narrows each credential to one
table: AWS grants the intersection of the two. The catalog calls STS with its own keys (the
profile's `access-key-id`/`secret-access-key`) or, without them, boto3's default chain.

boto3 (a dependency of the catalog) is imported only when a warehouse first vends through
STS, so servers without such warehouses do not pay its import time.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from catalog.vending.base import (
    Access,
    CredentialVendor,
    StorageCredential,
    VendingUnavailable,
    s3_client_config,
)

STS = "sts"
# AssumeRole's limits for DurationSeconds; a role's MaxSessionDuration may lower the upper one.
MIN_DURATION_SECONDS = 900
MAX_DURATION_SECONDS = 43_200
DEFAULT_REGION = "us-east-1"
REGION_ANY = "auto"
READ_ACTIONS = ("s3:GetObject",)
WRITE_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]+")


def uses_sts(profile: Mapping[str, Any]) -> bool:
    return profile.get("vending") == STS


def check_sts_profile(profile: Mapping[str, Any]) -> None:
    """At warehouse creation: an STS warehouse names the role to assume."""
    if not uses_sts(profile):
        return
    role = profile.get("sts-role-arn")
    if not isinstance(role, str) or not role.startswith("arn:"):
        raise ValueError("a warehouse vending through STS needs 'sts-role-arn' (an IAM role ARN)")
    endpoint = profile.get("sts-endpoint")
    if endpoint and urlsplit(str(endpoint)).scheme not in ("http", "https"):
        raise ValueError("'sts-endpoint' must be an http(s) URL")


def _literal(text: str) -> str:
    """A key prefix as IAM reads it literally: `*`, `?` and `$` are policy syntax."""
    return "".join("${" + ch + "}" if ch in "*?$" else ch for ch in text)


def session_policy(
    bucket: str, key_prefix: str, access: Access, partition: str = "aws"
) -> dict[str, Any]:
    """Objects under `key_prefix/` only, and listing only inside it (so `tbl1` never lists
    `tbl10`); writes only with write access."""
    directory = _literal(key_prefix.strip("/") + "/")
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    actions = WRITE_ACTIONS if access == "write" else READ_ACTIONS
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TableObjects",
                "Effect": "Allow",
                "Action": list(actions),
                "Resource": [f"{bucket_arn}/{directory}*"],
            },
            {
                "Sid": "TableListing",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [bucket_arn],
                "Condition": {"StringLike": {"s3:prefix": [directory, f"{directory}*"]}},
            },
        ],
    }


def session_name(prefix: str) -> str:
    """`icefloe-<namespace>.<table>-<hash>`: readable in CloudTrail, within STS's 64 characters
    of `[\\w+=,.@-]`, and distinct for distinct prefixes."""
    segments = [s for s in urlsplit(prefix).path.split("/") if s]
    readable = _SESSION_NAME_UNSAFE.sub("-", ".".join(segments[-2:]))[:44] or "table"
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:8]
    return f"icefloe-{readable}-{digest}"


def duration_seconds(ttl: timedelta) -> int:
    return max(MIN_DURATION_SECONDS, min(int(ttl.total_seconds()), MAX_DURATION_SECONDS))


def _region(profile: Mapping[str, Any]) -> str:
    region = str(profile.get("region") or "")
    return DEFAULT_REGION if region in ("", REGION_ANY) else region


class StsVendor:
    """The STS client is built when a credential is first asked for, not when `/v1/config`
    only wants to know that this warehouse vends."""

    def __init__(self, client: Callable[[], Any], profile: Mapping[str, Any]) -> None:
        self._client = client
        self._profile = profile

    def vend(self, prefix: str, access: Access, ttl: timedelta) -> StorageCredential:
        client = self._client()
        from botocore.exceptions import BotoCoreError, ClientError

        parts = urlsplit(prefix)
        role = str(self._profile.get("sts-role-arn") or "")
        # The role's partition (aws, aws-cn, aws-us-gov) is the buckets' partition too.
        partition = role.split(":")[1] if role.count(":") >= 5 else "aws"
        request: dict[str, Any] = {
            "RoleArn": role,
            "RoleSessionName": session_name(prefix),
            "Policy": json.dumps(
                session_policy(parts.netloc, parts.path.lstrip("/"), access, partition or "aws"),
                separators=(",", ":"),
            ),
            "DurationSeconds": duration_seconds(ttl),
        }
        external_id = self._profile.get("sts-external-id")
        if external_id:
            request["ExternalId"] = str(external_id)
        try:
            credentials = client.assume_role(**request)["Credentials"]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            raise VendingUnavailable(f"STS AssumeRole was refused ({code})") from None
        except BotoCoreError as error:
            raise VendingUnavailable(f"STS could not be reached ({type(error).__name__})") from None
        expires_at = credentials["Expiration"]
        endpoint = self._profile.get("endpoint")
        config = s3_client_config(
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
            expires_at,
            endpoint,
            _region(self._profile),
            # AWS S3 itself: virtual-hosted; S3-compatible endpoints: path-style unless told.
            path_style=bool(self._profile.get("path-style-access", bool(endpoint))),
        )
        return StorageCredential(prefix, config, expires_at)


class StsVendorFactory:
    """One STS client per endpoint, region and caller keys: clients are thread-safe and slow
    to build, and `/v1/config` asks for a vendor on every call."""

    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self._timeout = timeout_seconds
        self._clients: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    def client(self, profile: Mapping[str, Any]) -> Any:
        key = (
            str(profile.get("sts-endpoint") or ""),
            _region(profile),
            str(profile.get("access-key-id") or ""),
            str(profile.get("secret-access-key") or ""),
        )
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._build(*key)
                self._clients[key] = client
            return client

    def _build(self, endpoint: str, region: str, key_id: str, secret: str) -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=key_id or None,
            aws_secret_access_key=secret or None,
            region_name=region,
        )
        return session.client(
            "sts",
            endpoint_url=endpoint or None,
            config=Config(
                connect_timeout=self._timeout,
                read_timeout=self._timeout,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )

    def __call__(self, profile: dict[str, Any]) -> CredentialVendor:
        return StsVendor(lambda: self.client(profile), profile)
