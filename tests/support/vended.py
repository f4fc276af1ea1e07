"""Using vended credentials the way an engine would: a boto3 client, and whether a call is
refused by the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError


def s3_client(config: dict[str, str]) -> Any:
    """A boto3 client built only from a StorageCredential's config."""
    return boto3.client(
        "s3",
        endpoint_url=config["s3.endpoint"],
        aws_access_key_id=config["s3.access-key-id"],
        aws_secret_access_key=config["s3.secret-access-key"],
        aws_session_token=config["s3.session-token"],
        region_name=config["client.region"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def denied(call: Callable[[], object]) -> bool:
    """True when the store refused the call with AccessDenied."""
    try:
        call()
    except ClientError as error:
        return bool(error.response["Error"]["Code"] in ("AccessDenied", "403"))
    return False
