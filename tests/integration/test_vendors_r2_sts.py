"""Vending for warehouses outside this process: on R2 through Cloudflare's temporary access
credentials API, on S3-compatible stores through an STS (AssumeRole with a session policy).

One real `icefloe serve` hosts both warehouses; their buckets live on its embedded store, which
plays R2 (and S3) here. Cloudflare's API is a stand-in that follows its documented contract and
mints credentials with the embedded store's authority; the STS is moto's, whose requests are
recorded.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from storage.s3 import CredentialAuthority
from tests.support.error_model import assert_error
from tests.support.fake_cloudflare import FakeCloudflareApi
from tests.support.recording_sts import RecordingSts
from tests.support.server import CatalogServer
from tests.support.vended import denied, s3_client

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
VENDED = {"X-Iceberg-Access-Delegation": "vended-credentials"}
ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
API_TOKEN = f"cf-api-token-{secrets.token_hex(16)}"
PARENT_ACCESS_KEY_ID = "parent0123456789abcdef0123456789"
R2_BUCKET = "r2lake"
STS_BUCKET = "stslake"
ROLE_ARN = "arn:aws:iam::123456789012:role/icefloe-tables"
EXTERNAL_ID = "icefloe-external-id"
TTL_SECONDS = 1800


# fixtures ---------------------------------------------------------------------------------
def root_keys(server: CatalogServer) -> dict[str, str]:
    keys = json.loads((server.data_dir / "objects" / "root-credentials.json").read_text())
    return {
        "aws_access_key_id": keys["access_key_id"],
        "aws_secret_access_key": keys["secret_access_key"],
    }


def authority_of(server: CatalogServer) -> CredentialAuthority:
    keys = root_keys(server)
    return CredentialAuthority(keys["aws_access_key_id"], keys["aws_secret_access_key"])


def s3_as_root(server: CatalogServer) -> Any:
    return boto3.client("s3", endpoint_url=server.s3_url, region_name="auto", **root_keys(server))


@pytest.fixture(scope="module")
def cloudflare_and_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FakeCloudflareApi, CatalogServer]]:
    data_dir = tmp_path_factory.mktemp("catalog-vendors")
    holder: dict[str, CatalogServer] = {}
    api = FakeCloudflareApi(
        ACCOUNT_ID, API_TOKEN, PARENT_ACCESS_KEY_ID, lambda: authority_of(holder["server"])
    ).start()
    server = CatalogServer(
        data_dir,
        storage="embedded",
        env={
            "ICEFLOE_R2_API_BASE": api.url,
            "ICEFLOE_R2_ACCOUNT_ID": ACCOUNT_ID,
            "ICEFLOE_R2_API_TOKEN": API_TOKEN,
            "ICEFLOE_R2_PARENT_ACCESS_KEY_ID": PARENT_ACCESS_KEY_ID,
            "ICEFLOE_R2_API_TIMEOUT_SECONDS": "1",
        },
    )
    holder["server"] = server.start()
    yield api, server
    server.stop()
    api.stop()


@pytest.fixture(scope="module")
def server(cloudflare_and_server: tuple[FakeCloudflareApi, CatalogServer]) -> CatalogServer:
    return cloudflare_and_server[1]


@pytest.fixture
def cloudflare(
    cloudflare_and_server: tuple[FakeCloudflareApi, CatalogServer],
) -> Iterator[FakeCloudflareApi]:
    api = cloudflare_and_server[0]
    yield api
    api.mode = "ok"


@pytest.fixture(scope="module")
def sts() -> Iterator[RecordingSts]:
    recording = RecordingSts().start()
    yield recording
    recording.stop()


def admin(server: CatalogServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30)


def create_warehouse(server: CatalogServer, name: str, storage: dict[str, Any]) -> None:
    s3_as_root(server).create_bucket(Bucket=name)
    with admin(server) as http:
        created = http.post(
            "/admin/v1/warehouses",
            json={
                "name": name,
                "location": f"s3://{name}",
                "storage": storage,
                "properties": {"credentials.ttl-seconds": str(TTL_SECONDS)},
            },
        )
    assert created.status_code == 201, created.text


@pytest.fixture(scope="module")
def r2_warehouse(server: CatalogServer) -> str:
    """R2 by profile: the endpoint is the embedded store instead of <account>.r2.cloudflarestorage
    .com, and the catalog's own keys are its root keys; account, token and parent key come from
    the settings."""
    keys = root_keys(server)
    create_warehouse(
        server,
        R2_BUCKET,
        {
            "type": "r2",
            "endpoint": server.s3_url,
            "access-key-id": keys["aws_access_key_id"],
            "secret-access-key": keys["aws_secret_access_key"],
        },
    )
    return R2_BUCKET


@pytest.fixture(scope="module")
def sts_warehouse(server: CatalogServer, sts: RecordingSts) -> str:
    keys = root_keys(server)
    create_warehouse(
        server,
        STS_BUCKET,
        {
            "type": "s3",
            "vending": "sts",
            "endpoint": server.s3_url,
            "region": "us-east-1",
            "access-key-id": keys["aws_access_key_id"],
            "secret-access-key": keys["aws_secret_access_key"],
            "sts-endpoint": sts.url,
            "sts-role-arn": ROLE_ARN,
            "sts-external-id": EXTERNAL_ID,
        },
    )
    return STS_BUCKET


def fresh_namespace(server: CatalogServer, warehouse: str) -> str:
    name = f"ns_{uuid.uuid4().hex[:8]}"
    with admin(server) as http:
        response = http.post(f"/v1/{warehouse}/namespaces", json={"namespace": [name]})
    assert response.status_code == 200, response.text
    return name


def create_table(server: CatalogServer, warehouse: str, ns: str, name: str) -> str:
    """A table created without asking for credentials, so nothing is vended yet."""
    with admin(server) as http:
        response = http.post(
            f"/v1/{warehouse}/namespaces/{ns}/tables",
            json={
                "name": name,
                "location": f"s3://{warehouse}/{ns}/{name}",
                "schema": {"type": "struct", "fields": []},
            },
        )
    assert response.status_code == 200, response.text
    location: str = response.json()["metadata"]["location"]
    return location


def reader_token(server: CatalogServer, warehouse: str) -> str:
    with admin(server) as http:
        body = {"name": "reader", "permission": "read-only", "warehouses": [warehouse]}
        issued: str = http.post("/admin/v1/tokens", json=body).json()["token"]
    return issued


def credentials(
    server: CatalogServer, warehouse: str, ns: str, table: str, bearer: str | None = None
) -> dict[str, str]:
    response = httpx.get(
        f"{server.url}/v1/{warehouse}/namespaces/{ns}/tables/{table}/credentials",
        headers={"Authorization": f"Bearer {bearer or server.token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    entries = response.json()["storage-credentials"]
    assert len(entries) == 1
    assert entries[0]["prefix"] == f"s3://{warehouse}/{ns}/{table}/"
    config: dict[str, str] = entries[0]["config"]
    return config


def r2_requests_for(api: FakeCloudflareApi, prefix: str) -> list[dict[str, Any]]:
    return [r.body for r in api.received if r.body and prefix in r.body.get("prefixes", [])]


# R2 ---------------------------------------------------------------------------------------
def test_r2_warehouse_asks_clients_for_vended_credentials(
    server: CatalogServer, r2_warehouse: str
) -> None:
    config = httpx.get(
        f"{server.url}/v1/config", params={"warehouse": r2_warehouse}, headers=server.auth_headers
    ).json()
    assert config["defaults"]["header.X-Iceberg-Access-Delegation"] == "vended-credentials"


def test_pyiceberg_writes_and_reads_an_r2_table_with_vended_credentials_only(
    server: CatalogServer, cloudflare: FakeCloudflareApi, r2_warehouse: str
) -> None:
    ns = fresh_namespace(server, r2_warehouse)
    catalog = RestCatalog("r2", uri=server.url, warehouse=r2_warehouse, token=server.token)
    table = catalog.create_table(f"{ns}.events", schema=ROWS.schema)
    table.append(ROWS)
    reloaded = catalog.load_table(f"{ns}.events")

    assert reloaded.scan().to_arrow().num_rows == 3
    assert reloaded.io.properties["s3.access-key-id"] in cloudflare.issued
    assert reloaded.io.properties["s3.endpoint"] == server.s3_url
    assert reloaded.io.properties["client.region"] == "auto"
    prefix = reloaded.location().removeprefix(f"s3://{r2_warehouse}/") + "/"
    sent = r2_requests_for(cloudflare, prefix)
    assert sent, "PyIceberg's loads went through Cloudflare's API"
    assert all(
        body
        == {
            "bucket": r2_warehouse,
            "parentAccessKeyId": PARENT_ACCESS_KEY_ID,
            "permission": "object-read-write",
            "ttlSeconds": TTL_SECONDS,
            "prefixes": [prefix],
        }
        for body in sent
    ), sent


def test_r2_request_follows_the_documented_contract(
    server: CatalogServer, cloudflare: FakeCloudflareApi, r2_warehouse: str
) -> None:
    ns = fresh_namespace(server, r2_warehouse)
    create_table(server, r2_warehouse, ns, "t")
    before = len(cloudflare.received)
    credentials(server, r2_warehouse, ns, "t")

    [request] = cloudflare.received[before:]
    assert request.path == f"/client/v4/accounts/{ACCOUNT_ID}/r2/temp-access-credentials"
    assert request.authorization == f"Bearer {API_TOKEN}"
    assert request.content_type == "application/json"
    assert request.body == {
        "bucket": r2_warehouse,
        "parentAccessKeyId": PARENT_ACCESS_KEY_ID,
        "permission": "object-read-write",
        "ttlSeconds": TTL_SECONDS,
        "prefixes": [f"{ns}/t/"],
    }


def test_r2_credentials_reach_their_table_and_nothing_else(
    server: CatalogServer, cloudflare: FakeCloudflareApi, r2_warehouse: str
) -> None:
    ns = fresh_namespace(server, r2_warehouse)
    catalog = RestCatalog("r2", uri=server.url, warehouse=r2_warehouse, token=server.token)
    one = catalog.create_table(f"{ns}.tbl1", schema=ROWS.schema, location=f"s3://r2lake/{ns}/tbl1")
    ten = catalog.create_table(
        f"{ns}.tbl10", schema=ROWS.schema, location=f"s3://r2lake/{ns}/tbl10"
    )
    other = catalog.create_table(f"{ns}.other", schema=ROWS.schema)
    for table in (one, ten, other):
        table.append(ROWS)
    root = s3_as_root(server)
    files = {
        name: root.list_objects_v2(Bucket=R2_BUCKET, Prefix=f"{ns}/{name}/")["Contents"][0]["Key"]
        for name in ("tbl1", "tbl10")
    }
    other_file = root.list_objects_v2(
        Bucket=R2_BUCKET, Prefix=other.location().removeprefix("s3://r2lake/") + "/"
    )["Contents"][0]["Key"]

    s3 = s3_client(credentials(server, r2_warehouse, ns, "tbl1"))
    assert r2_requests_for(cloudflare, f"{ns}/tbl1/")[-1]["prefixes"] == [f"{ns}/tbl1/"]
    assert s3.list_objects_v2(Bucket=R2_BUCKET, Prefix=f"{ns}/tbl1/")["KeyCount"] > 0
    assert s3.get_object(Bucket=R2_BUCKET, Key=files["tbl1"])["Body"].read()
    s3.put_object(Bucket=R2_BUCKET, Key=f"{ns}/tbl1/data/extra.bin", Body=b"ok")

    assert denied(lambda: s3.get_object(Bucket=R2_BUCKET, Key=files["tbl10"]))
    assert denied(lambda: s3.list_objects_v2(Bucket=R2_BUCKET, Prefix=f"{ns}/tbl10/"))
    assert denied(lambda: s3.list_objects_v2(Bucket=R2_BUCKET, Prefix=f"{ns}/tbl1"))
    assert denied(lambda: s3.put_object(Bucket=R2_BUCKET, Key=f"{ns}/tbl10/x.bin", Body=b"x"))
    assert denied(lambda: s3.get_object(Bucket=R2_BUCKET, Key=other_file))
    assert denied(lambda: s3.delete_object(Bucket=R2_BUCKET, Key=other_file))
    assert denied(lambda: s3.list_objects_v2(Bucket=R2_BUCKET))
    assert denied(lambda: s3.put_object(Bucket=R2_BUCKET, Key="root.bin", Body=b"x"))
    assert catalog.load_table(f"{ns}.tbl10").scan().to_arrow().num_rows == 3


def test_r2_read_only_callers_get_read_only_credentials(
    server: CatalogServer, cloudflare: FakeCloudflareApi, r2_warehouse: str
) -> None:
    ns = fresh_namespace(server, r2_warehouse)
    catalog = RestCatalog("r2", uri=server.url, warehouse=r2_warehouse, token=server.token)
    catalog.create_table(f"{ns}.t", schema=ROWS.schema, location=f"s3://r2lake/{ns}/t").append(ROWS)
    s3 = s3_client(credentials(server, r2_warehouse, ns, "t", reader_token(server, r2_warehouse)))

    assert r2_requests_for(cloudflare, f"{ns}/t/")[-1]["permission"] == "object-read-only"
    first = s3.list_objects_v2(Bucket=R2_BUCKET, Prefix=f"{ns}/t/")["Contents"][0]["Key"]
    assert s3.get_object(Bucket=R2_BUCKET, Key=first)["Body"].read()
    assert denied(lambda: s3.put_object(Bucket=R2_BUCKET, Key=f"{ns}/t/data/x.bin", Body=b"x"))
    assert denied(lambda: s3.delete_object(Bucket=R2_BUCKET, Key=first))


@pytest.mark.parametrize("mode", ["forbidden", "unsuccessful", "slow"])
def test_r2_api_failures_are_503_and_never_show_the_api_token(
    server: CatalogServer, cloudflare: FakeCloudflareApi, r2_warehouse: str, mode: Any
) -> None:
    ns = fresh_namespace(server, r2_warehouse)
    create_table(server, r2_warehouse, ns, "t")
    cloudflare.mode = mode
    started = time.monotonic()
    with admin(server) as http:
        answers = [
            http.get(f"/v1/{r2_warehouse}/namespaces/{ns}/tables/t/credentials"),
            http.get(f"/v1/{r2_warehouse}/namespaces/{ns}/tables/t", headers=VENDED),
        ]

    assert time.monotonic() - started < 2 * cloudflare.slow_seconds
    for answer in answers:
        message = assert_error(answer, 503, "ServiceUnavailableException")
        assert "Cloudflare" in message
        assert API_TOKEN not in answer.text
    assert API_TOKEN not in server.log_path.read_text()


def test_r2_api_token_is_kept_out_of_the_database(server: CatalogServer, r2_warehouse: str) -> None:
    with admin(server) as http:
        refused = http.post(
            "/admin/v1/warehouses",
            json={
                "name": "r2tokened",
                "location": "s3://r2tokened",
                "storage": {"type": "r2", "api-token": API_TOKEN, "endpoint": server.s3_url},
            },
        )
        listed = http.get("/admin/v1/warehouses").json()["warehouses"]

    message = assert_error(refused, 400, "BadRequestException")
    assert "ICEFLOE_R2_API_TOKEN" in message
    assert API_TOKEN not in refused.text
    assert [w["storage"] for w in listed if w["name"] == r2_warehouse] == [
        {
            "type": "r2",
            "endpoint": server.s3_url,
            "access-key-id": root_keys(server)["aws_access_key_id"],
        }
    ]
    databases = list(server.data_dir.glob("catalog.db*"))
    assert databases
    for path in databases:
        assert API_TOKEN.encode() not in path.read_bytes()


# STS --------------------------------------------------------------------------------------
def expected_policy(bucket: str, prefix: str, actions: list[str]) -> dict[str, Any]:
    """Written out here rather than taken from the code under test."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TableObjects",
                "Effect": "Allow",
                "Action": actions,
                "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"],
            },
            {
                "Sid": "TableListing",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/", f"{prefix}/*"]}},
            },
        ],
    }


WRITE = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
READ = ["s3:GetObject"]


def assume_role_for(sts: RecordingSts, access_key_id: str, since: int) -> dict[str, str]:
    """The AssumeRole request whose answer carried `access_key_id` (moto's record of it)."""
    from moto.sts.models import sts_backends

    roles = sts_backends["123456789012"]["aws"].assumed_roles
    [session] = [r.session_name for r in roles if r.access_key_id == access_key_id]
    [request] = [r for r in sts.assume_role[since:] if r["RoleSessionName"] == session]
    return request


def test_sts_warehouse_vends_assumed_role_credentials_with_a_table_policy(
    server: CatalogServer, sts: RecordingSts, sts_warehouse: str
) -> None:
    ns = fresh_namespace(server, sts_warehouse)
    create_table(server, sts_warehouse, ns, "tbl1")
    since = len(sts.assume_role)
    asked_at = time.time()
    config = credentials(server, sts_warehouse, ns, "tbl1")

    request = assume_role_for(sts, config["s3.access-key-id"], since)
    assert request["RoleArn"] == ROLE_ARN
    assert request["ExternalId"] == EXTERNAL_ID
    assert request["DurationSeconds"] == str(TTL_SECONDS)
    assert re.fullmatch(r"icefloe-[\w+=,.@-]+", request["RoleSessionName"])
    assert f"{ns}.tbl1" in request["RoleSessionName"]
    assert json.loads(request["Policy"]) == expected_policy(STS_BUCKET, f"{ns}/tbl1", WRITE)
    assert config["s3.endpoint"] == server.s3_url
    assert config["client.region"] == "us-east-1"
    assert config["s3.session-token"]
    expires_in = int(config["s3.session-token-expires-at-ms"]) / 1000 - asked_at
    assert TTL_SECONDS - 60 < expires_in < TTL_SECONDS + 60


def test_sts_read_only_callers_get_a_read_only_policy(
    server: CatalogServer, sts: RecordingSts, sts_warehouse: str
) -> None:
    ns = fresh_namespace(server, sts_warehouse)
    create_table(server, sts_warehouse, ns, "t")
    since = len(sts.assume_role)
    config = credentials(server, sts_warehouse, ns, "t", reader_token(server, sts_warehouse))

    request = assume_role_for(sts, config["s3.access-key-id"], since)
    assert json.loads(request["Policy"]) == expected_policy(STS_BUCKET, f"{ns}/t", READ)


def test_sts_refusal_is_503(server: CatalogServer) -> None:
    """A warehouse whose STS is not there: the catalog answers 503, not 500."""
    keys = root_keys(server)
    name = f"sts{uuid.uuid4().hex[:6]}"
    create_warehouse(
        server,
        name,
        {
            "type": "s3",
            "vending": "sts",
            "endpoint": server.s3_url,
            "access-key-id": keys["aws_access_key_id"],
            "secret-access-key": keys["aws_secret_access_key"],
            "sts-endpoint": "http://127.0.0.1:9",
            "sts-role-arn": ROLE_ARN,
        },
    )
    ns = fresh_namespace(server, name)
    create_table(server, name, ns, "t")
    with admin(server) as http:
        answer = http.get(f"/v1/{name}/namespaces/{ns}/tables/t/credentials")
    message = assert_error(answer, 503, "ServiceUnavailableException")
    assert keys["aws_secret_access_key"] not in message


# what the STS policy allows, and what the embedded store enforces -------------------------
def _iam_regex(pattern: str) -> re.Pattern[str]:
    """IAM's wildcards: `*` any run, `?` one character, `${*}` `${?}` `${$}` literals."""
    parts, i = [], 0
    while i < len(pattern):
        if pattern[i : i + 2] == "${" and pattern[i + 3 : i + 4] == "}":
            parts.append(re.escape(pattern[i + 2]))
            i += 4
            continue
        parts.append({"*": ".*", "?": "."}.get(pattern[i], re.escape(pattern[i])))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def policy_allows(
    policy: dict[str, Any], action: str, resource: str, context: dict[str, str]
) -> bool:
    """IAM's evaluation for an Allow-only session policy: some statement matches the action,
    the resource and every StringLike condition; anything else is implicitly denied."""
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        conditions = statement.get("Condition", {})
        assert set(conditions) <= {"StringLike"}, conditions
        if not any(_iam_regex(a).fullmatch(action) for a in _listed(statement["Action"])):
            continue
        if not any(_iam_regex(r).fullmatch(resource) for r in _listed(statement["Resource"])):
            continue
        if all(
            key in context and any(_iam_regex(v).fullmatch(context[key]) for v in _listed(values))
            for key, values in conditions.get("StringLike", {}).items()
        ):
            return True
    return False


def iam_allows(policy: dict[str, Any], bucket: str, action: str, target: str | None) -> bool:
    if action == "s3:ListBucket":
        context = {} if target is None else {"s3:prefix": target}
        return policy_allows(policy, action, f"arn:aws:s3:::{bucket}", context)
    return policy_allows(policy, action, f"arn:aws:s3:::{bucket}/{target}", {})


def embedded_allows(client: Any, bucket: str, action: str, target: str | None) -> bool:
    if action == "s3:ListBucket":
        where = {} if target is None else {"Prefix": target}
        return not denied(lambda: client.list_objects_v2(Bucket=bucket, **where))
    calls: dict[str, Callable[[], object]] = {
        "s3:GetObject": lambda: client.get_object(Bucket=bucket, Key=target),
        "s3:PutObject": lambda: client.put_object(Bucket=bucket, Key=target, Body=b"y"),
        "s3:DeleteObject": lambda: client.delete_object(Bucket=bucket, Key=target),
    }
    return not denied(calls[action])


def test_sts_policy_allows_exactly_what_the_embedded_store_enforces_for_the_same_prefix(
    server: CatalogServer, sts: RecordingSts, sts_warehouse: str
) -> None:
    """moto does not enforce session policies: an STS credential from it opens nothing here.

    What is proved instead: the policy the catalog sent to STS (as moto received it), read with
    IAM's documented matching rules, allows exactly the operations that the embedded store
    allows a credential issued for the bucket, prefix and permission that policy names, and
    those are the table's own objects and listings only. So the prefix rule the embedded store
    enforces (end to end for R2 above, and in test_vended_credentials) is the rule AWS applies
    to STS warehouses, `tbl1` vs `tbl10` and the bucket root included.
    """
    ns = fresh_namespace(server, sts_warehouse)
    create_table(server, sts_warehouse, ns, "tbl1")
    root = s3_as_root(server)
    own, sibling, other = f"{ns}/tbl1", f"{ns}/tbl10", f"{ns}/other"
    # action, object key or list prefix (None: no prefix), allowed when writing, when reading
    cases: list[tuple[str, str | None, bool, bool]] = [
        ("s3:GetObject", f"{own}/data/a.bin", True, True),
        ("s3:PutObject", f"{own}/data/new.bin", True, False),
        ("s3:DeleteObject", f"{own}/data/delete-me.bin", True, False),
        ("s3:ListBucket", f"{own}/", True, True),
        ("s3:ListBucket", f"{own}/data/", True, True),
        ("s3:GetObject", f"{sibling}/data/a.bin", False, False),
        ("s3:PutObject", f"{sibling}/data/new.bin", False, False),
        ("s3:ListBucket", f"{sibling}/", False, False),
        ("s3:ListBucket", own, False, False),
        ("s3:GetObject", f"{other}/data/a.bin", False, False),
        ("s3:DeleteObject", f"{other}/data/a.bin", False, False),
        ("s3:ListBucket", None, False, False),
        ("s3:PutObject", "root.bin", False, False),
    ]
    callers = [(server.token, WRITE, True), (reader_token(server, sts_warehouse), READ, False)]
    for bearer, actions, writer in callers:
        for key in (f"{own}/data/a.bin", f"{own}/data/delete-me.bin", f"{other}/data/a.bin"):
            root.put_object(Bucket=STS_BUCKET, Key=key, Body=b"x")
        root.put_object(Bucket=STS_BUCKET, Key=f"{sibling}/data/a.bin", Body=b"x")
        since = len(sts.assume_role)
        config = credentials(server, sts_warehouse, ns, "tbl1", bearer)
        policy = json.loads(assume_role_for(sts, config["s3.access-key-id"], since)["Policy"])
        assert policy == expected_policy(STS_BUCKET, own, actions)

        objects = policy["Statement"][0]
        bucket, prefix = objects["Resource"][0].removeprefix("arn:aws:s3:::")[:-1].split("/", 1)
        issued = authority_of(server).issue(
            bucket=bucket,
            prefixes=[prefix],
            permission="object-read-write"
            if "s3:PutObject" in objects["Action"]
            else "object-read-only",
            ttl=timedelta(minutes=15),
        )
        embedded = s3_client(
            {
                "s3.endpoint": server.s3_url,
                "s3.access-key-id": issued.access_key_id,
                "s3.secret-access-key": issued.secret_access_key,
                "s3.session-token": issued.session_token,
                "client.region": "auto",
            }
        )
        for action, target, when_writing, when_reading in cases:
            expected = when_writing if writer else when_reading
            outcome = (
                iam_allows(policy, bucket, action, target),
                embedded_allows(embedded, bucket, action, target),
            )
            assert outcome == (expected, expected), (action, target, writer)
