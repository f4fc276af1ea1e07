"""The STS vendor in process: moto's STS (mock_aws) answers, botocore's event hooks show what
was sent. moto does not evaluate session policies; what the policy allows is checked in
tests/integration/test_vendors_r2_sts.py against the embedded store's enforcement."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from catalog.vending.base import VendingUnavailable
from catalog.vending.sts import (
    StsVendor,
    StsVendorFactory,
    check_sts_profile,
    duration_seconds,
    session_name,
    session_policy,
)

ROLE = "arn:aws:iam::123456789012:role/icefloe-tables"
PREFIX = "s3://lake/ns/tbl1/"
PROFILE = {"type": "s3", "vending": "sts", "sts-role-arn": ROLE, "region": "eu-west-1"}


@pytest.fixture
def sts() -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """An STS client on moto, and the AssumeRole parameters it was called with."""
    sent: list[dict[str, Any]] = []
    with mock_aws():
        client = boto3.client(
            "sts",
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.meta.events.register(
            "provide-client-params.sts.AssumeRole", lambda params, **_: sent.append(dict(params))
        )
        yield client, sent


def test_write_request_carries_the_table_policy_duration_and_session_name(
    sts: tuple[Any, list[dict[str, Any]]],
) -> None:
    client, sent = sts
    profile = {**PROFILE, "sts-external-id": "ext-1", "endpoint": "https://s3.example"}
    credential = StsVendor(lambda: client, profile).vend(PREFIX, "write", timedelta(hours=2))

    [params] = sent
    assert params["RoleArn"] == ROLE
    assert params["ExternalId"] == "ext-1"
    assert params["DurationSeconds"] == 7200
    assert re.fullmatch(r"icefloe-ns\.tbl1-[0-9a-f]{8}", params["RoleSessionName"])
    assert json.loads(params["Policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TableObjects",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                ],
                "Resource": ["arn:aws:s3:::lake/ns/tbl1/*"],
            },
            {
                "Sid": "TableListing",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": ["arn:aws:s3:::lake"],
                "Condition": {"StringLike": {"s3:prefix": ["ns/tbl1/", "ns/tbl1/*"]}},
            },
        ],
    }
    config = credential.config
    assert config["s3.access-key-id"].startswith("ASIA")
    assert config["s3.secret-access-key"] and config["s3.session-token"]
    assert config["s3.endpoint"] == "https://s3.example"
    assert config["client.region"] == config["s3.region"] == "eu-west-1"
    assert config["s3.path-style-access"] == "true"
    assert config["s3.session-token-expires-at-ms"] == str(
        int(credential.expires_at.timestamp() * 1000)
    )
    assert credential.prefix == PREFIX


def test_read_request_allows_reads_only_and_aws_needs_no_endpoint(
    sts: tuple[Any, list[dict[str, Any]]],
) -> None:
    client, sent = sts
    credential = StsVendor(lambda: client, {**PROFILE, "region": "auto"}).vend(
        PREFIX, "read", timedelta(hours=1)
    )
    policy = json.loads(sent[0]["Policy"])
    assert policy["Statement"][0]["Action"] == ["s3:GetObject"]
    assert "ExternalId" not in sent[0]
    assert "s3.endpoint" not in credential.config
    assert credential.config["s3.path-style-access"] == "false"
    assert credential.config["client.region"] == "us-east-1"


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [(timedelta(seconds=60), 900), (timedelta(hours=1), 3600), (timedelta(days=2), 43200)],
)
def test_duration_is_clamped_to_what_assume_role_accepts(ttl: timedelta, seconds: int) -> None:
    assert duration_seconds(ttl) == seconds


def test_policy_names_buckets_in_the_roles_partition(
    sts: tuple[Any, list[dict[str, Any]]],
) -> None:
    client, sent = sts
    role = "arn:aws-cn:iam::123456789012:role/icefloe-tables"
    StsVendor(lambda: client, {**PROFILE, "sts-role-arn": role}).vend(
        PREFIX, "read", timedelta(hours=1)
    )
    policy = json.loads(sent[0]["Policy"])
    assert policy["Statement"][0]["Resource"] == ["arn:aws-cn:s3:::lake/ns/tbl1/*"]
    assert policy["Statement"][1]["Resource"] == ["arn:aws-cn:s3:::lake"]


def test_policy_reads_wildcards_in_a_location_literally() -> None:
    policy = session_policy("lake", "ns/we*rd?$/", "read")
    assert policy["Statement"][0]["Resource"] == ["arn:aws:s3:::lake/ns/we${*}rd${?}${$}/*"]
    assert policy["Statement"][1]["Condition"]["StringLike"]["s3:prefix"] == [
        "ns/we${*}rd${?}${$}/",
        "ns/we${*}rd${?}${$}/*",
    ]


@pytest.mark.parametrize(
    "prefix",
    [
        "s3://lake/ns/tbl1/",
        "s3://lake/ns/tbl10/",
        "s3://lake/ns with spaces/t:able#1/",
        "s3://lake/" + "n" * 200 + "/" + "t" * 200 + "/",
        "s3://lake/",
    ],
)
def test_session_names_are_valid_for_sts_and_distinct(prefix: str) -> None:
    name = session_name(prefix)
    assert re.fullmatch(r"[\w+=,.@-]{2,64}", name)
    assert name != session_name(prefix.rstrip("/") + "0/")


def test_refusal_is_unavailable_naming_only_the_error_code() -> None:
    client = boto3.client(
        "sts", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    with Stubber(client) as stub:
        stub.add_client_error(
            "assume_role",
            service_error_code="AccessDenied",
            service_message="User arn:aws:iam::123456789012:user/ci is not authorized",
        )
        with pytest.raises(VendingUnavailable) as refused:
            StsVendor(lambda: client, PROFILE).vend(PREFIX, "read", timedelta(hours=1))
    assert str(refused.value) == "STS AssumeRole was refused (AccessDenied)"


def test_unreachable_sts_is_unavailable() -> None:
    factory = StsVendorFactory(timeout_seconds=1)
    profile = {**PROFILE, "sts-endpoint": "http://127.0.0.1:9", "access-key-id": "a"}
    profile["secret-access-key"] = "very-secret"
    with pytest.raises(VendingUnavailable, match="could not be reached") as failed:
        factory(profile).vend(PREFIX, "read", timedelta(hours=1))
    assert "very-secret" not in str(failed.value)


def test_factory_builds_clients_lazily_and_once_per_endpoint_and_keys() -> None:
    factory = StsVendorFactory()
    factory(dict(PROFILE))
    assert factory._clients == {}
    first = factory.client(PROFILE)
    assert factory.client(dict(PROFILE)) is first
    assert factory.client({**PROFILE, "sts-endpoint": "http://127.0.0.1:9000"}) is not first


@pytest.mark.parametrize(
    ("profile", "problem"),
    [
        ({"vending": "sts"}, "sts-role-arn"),
        ({"vending": "sts", "sts-role-arn": "icefloe-tables"}, "sts-role-arn"),
        ({"vending": "sts", "sts-role-arn": ROLE, "sts-endpoint": "ftp://x"}, "sts-endpoint"),
    ],
)
def test_sts_profiles_are_checked_at_creation(profile: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_sts_profile(profile)
    check_sts_profile({"type": "s3"})
    check_sts_profile({"vending": "sts", "sts-role-arn": ROLE, "sts-endpoint": "http://m:9000"})
