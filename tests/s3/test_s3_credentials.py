"""Temporary credentials: stateless, scoped to bucket + prefixes + permission + expiry."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from s3_harness import ROOT_KEY, ROOT_SECRET, Endpoint

from storage.s3 import CredentialAuthority, TemporaryCredentials
from storage.s3 import errors as s3errors

HOUR = timedelta(hours=1)


@pytest.fixture
def authority() -> CredentialAuthority:
    return CredentialAuthority(ROOT_KEY, ROOT_SECRET)


def client_for(s3: Endpoint, creds: TemporaryCredentials, **kwargs: Any) -> Any:
    return s3.client(
        access_key=creds.access_key_id,
        secret_key=creds.secret_access_key,
        token=creds.session_token,
        **kwargs,
    )


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    r = exc.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


def exists(s3: Endpoint, bucket: str, key: str) -> bool:
    return s3.raw().request("HEAD", f"/{bucket}/{key}").status == 200


# --- the authority itself ---------------------------------------------------------------


def test_issue_returns_verifiable_stateless_credentials(authority: CredentialAuthority) -> None:
    creds = authority.issue(
        bucket="warehouse", prefixes=["ns/tbl/"], permission="object-read-write", ttl=HOUR
    )
    assert creds.expiration.tzinfo is not None
    assert timedelta(minutes=59) < creds.expiration - datetime.now(UTC) <= HOUR
    # A fresh authority (another process, after a restart) verifies and re-derives.
    other = CredentialAuthority(ROOT_KEY, ROOT_SECRET)
    grant = other.verify(creds.access_key_id, creds.session_token)
    assert grant.bucket == "warehouse" and grant.prefixes == ("ns/tbl/",)
    assert grant.permission == "object-read-write"
    assert other.temporary_secret(creds.access_key_id) == creds.secret_access_key
    assert creds.secret_access_key not in creds.session_token


def test_rotated_root_secret_revokes_tokens(authority: CredentialAuthority) -> None:
    creds = authority.issue(
        bucket="warehouse", prefixes=[""], permission="object-read-only", ttl=HOUR
    )
    with pytest.raises(s3errors.AccessDenied):
        CredentialAuthority(ROOT_KEY, "another-secret").verify(
            creds.access_key_id, creds.session_token
        )


def test_forged_tokens_are_refused(authority: CredentialAuthority) -> None:
    creds = authority.issue(
        bucket="warehouse", prefixes=["a/"], permission="object-read-only", ttl=HOUR
    )
    version, body, mac = creds.session_token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["p"], payload["m"] = [""], "rw"
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    for token in (
        f"{version}.{forged_body}.{mac}",
        f"{version}.{body}.{mac[:-2]}AA",
        f"v2.{body}.{mac}",
        "garbage",
        "",
    ):
        with pytest.raises(s3errors.AccessDenied):
            authority.verify(creds.access_key_id, token)
    other = authority.issue(
        bucket="warehouse", prefixes=["a/"], permission="object-read-only", ttl=HOUR
    )
    with pytest.raises(s3errors.AccessDenied):
        authority.verify(other.access_key_id, creds.session_token)


def test_expired_tokens_are_refused() -> None:
    now = datetime.now(UTC)
    past = CredentialAuthority(ROOT_KEY, ROOT_SECRET, clock=lambda: now - 2 * HOUR)
    creds = past.issue(bucket="warehouse", prefixes=["a/"], permission="object-read-only", ttl=HOUR)
    with pytest.raises(s3errors.AccessDenied):
        CredentialAuthority(ROOT_KEY, ROOT_SECRET).verify(creds.access_key_id, creds.session_token)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"bucket": "Bad_Bucket"}, ValueError),
        ({"prefixes": []}, ValueError),
        ({"prefixes": "tbl/"}, TypeError),
        ({"prefixes": ["a/../b/"]}, ValueError),
        ({"prefixes": ["/abs/"]}, ValueError),
        ({"permission": "admin"}, ValueError),
        ({"ttl": timedelta(0)}, ValueError),
        ({"ttl": timedelta(days=8)}, ValueError),
    ],
)
def test_issue_validates_its_arguments(
    authority: CredentialAuthority, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    args: dict[str, Any] = {
        "bucket": "warehouse",
        "prefixes": ["a/"],
        "permission": "object-read-only",
        "ttl": HOUR,
    }
    args.update(kwargs)
    with pytest.raises(error):
        authority.issue(**args)


@pytest.mark.parametrize(
    ("prefix", "key", "covered"),
    [
        ("tbl1/", "tbl1/data/x.parquet", True),
        ("tbl1/", "tbl10/data/x.parquet", False),
        ("tbl1/", "tbl1", False),
        ("tbl1", "tbl1/x", True),
        ("tbl1", "tbl1", True),
        ("tbl1", "tbl10/x", False),
        ("tbl1", "tbl1x", False),
        ("ns/tbl1/", "ns/tbl1/../tbl2/x", False),
        ("ns/tbl1/", "ns/tbl1/./x", False),
        ("", "anything/at/all", True),
        ("", "a/../b", False),
    ],
)
def test_prefix_coverage(
    authority: CredentialAuthority, prefix: str, key: str, covered: bool
) -> None:
    creds = authority.issue(
        bucket="warehouse", prefixes=[prefix], permission="object-read-only", ttl=HOUR
    )
    grant = authority.verify(creds.access_key_id, creds.session_token)
    assert grant.covers_key(key) is covered


# --- through the endpoint ---------------------------------------------------------------


@pytest.fixture
def scoped(s3: Endpoint, bucket: str) -> Callable[..., Any]:
    assert s3.app is not None
    authority = s3.app.authority

    def make(
        permission: str = "object-read-write",
        prefixes: tuple[str, ...] = ("tbl1/",),
        target: str | None = None,
        **kwargs: Any,
    ) -> Any:
        creds = authority.issue(
            bucket=target or bucket,
            prefixes=list(prefixes),
            permission=permission,
            ttl=HOUR,  # type: ignore[arg-type]
        )
        return client_for(s3, creds, **kwargs), creds

    return make


@pytest.mark.parametrize("addressing", ["path", "virtual"])
def test_read_write_credential_works_inside_its_prefix(
    s3: Endpoint, bucket: str, scoped: Callable[..., Any], addressing: str
) -> None:
    client, _ = scoped(addressing=addressing)
    client.put_object(Bucket=bucket, Key="tbl1/data/f.parquet", Body=b"ok")
    assert client.get_object(Bucket=bucket, Key="tbl1/data/f.parquet")["Body"].read() == b"ok"
    listed = client.list_objects_v2(Bucket=bucket, Prefix="tbl1/")
    assert [o["Key"] for o in listed["Contents"]] == ["tbl1/data/f.parquet"]
    client.copy_object(Bucket=bucket, Key="tbl1/copy", CopySource=f"{bucket}/tbl1/data/f.parquet")
    uid = client.create_multipart_upload(Bucket=bucket, Key="tbl1/mp")["UploadId"]
    etag = client.upload_part(Bucket=bucket, Key="tbl1/mp", UploadId=uid, PartNumber=1, Body=b"m")[
        "ETag"
    ]
    client.complete_multipart_upload(
        Bucket=bucket,
        Key="tbl1/mp",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "tbl1/copy"}]})
    client.delete_object(Bucket=bucket, Key="tbl1/data/f.parquet")
    assert client.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("key", ["tbl10/x", "tbl1", "tbl2/x", "other"])
def test_writes_outside_the_prefix_are_denied(
    s3: Endpoint, bucket: str, scoped: Callable[..., Any], key: str
) -> None:
    client, _ = scoped()
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key=key, Body=b"escape")
    assert code(exc) == (403, "AccessDenied")
    assert not exists(s3, bucket, key)


@pytest.mark.parametrize(
    "path",
    [
        "tbl1/../tbl2/x",
        "tbl1/%2e%2e/tbl2/x",
        "tbl1%2F..%2Ftbl2%2Fx",
        "tbl1/%2E%2E%2Ftbl2/x",
        "tbl1/./x",
        "tbl1/sub/../../tbl2/x",
    ],
)
def test_path_tricks_cannot_escape_the_prefix(
    s3: Endpoint, bucket: str, scoped: Callable[..., Any], path: str
) -> None:
    _, creds = scoped()
    raw = s3.raw(
        token=creds.session_token,
        access_key=creds.access_key_id,
        secret_key=creds.secret_access_key,
    )
    resp = raw.request("PUT", f"/{bucket}/{path}", body=b"escape")
    assert (resp.status, resp.code) == (403, "AccessDenied")
    listed = s3.client().list_objects_v2(Bucket=bucket)
    assert listed.get("KeyCount", 0) == 0


def test_encoded_slash_inside_the_prefix_is_the_same_key(
    s3: Endpoint, bucket: str, scoped: Callable[..., Any]
) -> None:
    _, creds = scoped()
    raw = s3.raw(
        token=creds.session_token,
        access_key=creds.access_key_id,
        secret_key=creds.secret_access_key,
    )
    assert raw.request("PUT", f"/{bucket}/tbl1%2Fencoded", body=b"e").status == 200
    assert exists(s3, bucket, "tbl1/encoded")


@pytest.mark.parametrize("prefix", ["", "tbl", "tbl1", "tbl10/", "tbl1/../"])
def test_listing_outside_the_prefix_is_denied(
    bucket: str, scoped: Callable[..., Any], prefix: str
) -> None:
    client, _ = scoped(permission="object-read-only")
    with pytest.raises(ClientError) as exc:
        client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    assert code(exc) == (403, "AccessDenied")
    with pytest.raises(ClientError) as exc:
        client.list_objects(Bucket=bucket, Prefix=prefix)
    assert code(exc) == (403, "AccessDenied")


def test_read_only_credential_cannot_write_or_delete(
    s3: Endpoint, bucket: str, scoped: Callable[..., Any]
) -> None:
    root = s3.client()
    root.put_object(Bucket=bucket, Key="tbl1/existing", Body=b"keep")
    client, _ = scoped(permission="object-read-only")
    assert client.get_object(Bucket=bucket, Key="tbl1/existing")["Body"].read() == b"keep"
    attempts = [
        lambda: client.put_object(Bucket=bucket, Key="tbl1/new", Body=b"x"),
        lambda: client.delete_object(Bucket=bucket, Key="tbl1/existing"),
        lambda: client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": "tbl1/existing"}]}
        ),
        lambda: client.copy_object(
            Bucket=bucket, Key="tbl1/new", CopySource=f"{bucket}/tbl1/existing"
        ),
        lambda: client.create_multipart_upload(Bucket=bucket, Key="tbl1/new"),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as exc:
            attempt()
        assert code(exc) == (403, "AccessDenied")
    assert root.get_object(Bucket=bucket, Key="tbl1/existing")["Body"].read() == b"keep"
    assert not exists(s3, bucket, "tbl1/new")


def test_delete_objects_with_one_key_outside_deletes_nothing(
    s3: Endpoint, bucket: str, scoped: Callable[..., Any]
) -> None:
    root = s3.client()
    root.put_object(Bucket=bucket, Key="tbl1/a", Body=b"a")
    root.put_object(Bucket=bucket, Key="tbl2/b", Body=b"b")
    client, _ = scoped()
    with pytest.raises(ClientError) as exc:
        client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": "tbl1/a"}, {"Key": "tbl2/b"}]}
        )
    assert code(exc) == (403, "AccessDenied")
    assert exists(s3, bucket, "tbl1/a") and exists(s3, bucket, "tbl2/b")


def test_copy_from_outside_the_prefix_is_denied(
    s3: Endpoint, bucket: str, scoped: Callable[..., Any]
) -> None:
    s3.client().put_object(Bucket=bucket, Key="secret/s", Body=b"s")
    client, _ = scoped()
    with pytest.raises(ClientError) as exc:
        client.copy_object(Bucket=bucket, Key="tbl1/stolen", CopySource=f"{bucket}/secret/s")
    assert code(exc) == (403, "AccessDenied")
    assert not exists(s3, bucket, "tbl1/stolen")


def test_credentials_are_bound_to_their_bucket(
    s3: Endpoint, bucket: str, new_bucket: Callable[[], str], scoped: Callable[..., Any]
) -> None:
    other = new_bucket()
    client, _ = scoped()
    for attempt in (
        lambda: client.put_object(Bucket=other, Key="tbl1/x", Body=b"x"),
        lambda: client.get_object(Bucket=other, Key="tbl1/x"),
        lambda: client.list_objects_v2(Bucket=other, Prefix="tbl1/"),
        lambda: client.head_bucket(Bucket=other),
    ):
        with pytest.raises(ClientError) as exc:
            attempt()
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert not exists(s3, other, "tbl1/x")


def test_bucket_level_operations_are_root_only(
    s3: Endpoint, bucket: str, scoped: Callable[..., Any]
) -> None:
    client, _ = scoped(prefixes=("",))
    for attempt in (
        lambda: client.list_buckets(),
        lambda: client.create_bucket(Bucket="made-by-temp-creds"),
        lambda: client.delete_bucket(Bucket=bucket),
    ):
        with pytest.raises(ClientError) as exc:
            attempt()
        assert code(exc) == (403, "AccessDenied")
    assert "made-by-temp-creds" not in [b["Name"] for b in s3.client().list_buckets()["Buckets"]]


def test_expired_and_forged_session_tokens_are_denied(s3: Endpoint, bucket: str) -> None:
    now = datetime.now(UTC)
    past = CredentialAuthority(ROOT_KEY, ROOT_SECRET, clock=lambda: now - 2 * HOUR)
    expired = past.issue(
        bucket=bucket, prefixes=["tbl1/"], permission="object-read-write", ttl=HOUR
    )
    with pytest.raises(ClientError) as exc:
        client_for(s3, expired).put_object(Bucket=bucket, Key="tbl1/x", Body=b"x")
    assert code(exc) == (403, "AccessDenied")
    forger = CredentialAuthority(ROOT_KEY, "guessed-root-secret")
    forged = forger.issue(bucket=bucket, prefixes=[""], permission="object-read-write", ttl=HOUR)
    with pytest.raises(ClientError) as exc:
        client_for(s3, forged).put_object(Bucket=bucket, Key="tbl1/x", Body=b"x")
    assert code(exc) == (403, "AccessDenied")
    assert not exists(s3, bucket, "tbl1/x")


def test_swapped_token_or_wrong_secret_is_refused(
    s3: Endpoint, bucket: str, scoped: Callable[..., Any]
) -> None:
    _, narrow = scoped(permission="object-read-only")
    _, wide = scoped(prefixes=("",))
    swapped = TemporaryCredentials(
        narrow.access_key_id, narrow.secret_access_key, wide.session_token, wide.expiration
    )
    with pytest.raises(ClientError) as exc:
        client_for(s3, swapped).put_object(Bucket=bucket, Key="tbl1/x", Body=b"x")
    assert code(exc)[0] == 403
    wrong = TemporaryCredentials(
        narrow.access_key_id, "0" * 64, narrow.session_token, narrow.expiration
    )
    with pytest.raises(ClientError) as exc:
        client_for(s3, wrong).get_object(Bucket=bucket, Key="tbl1/x")
    assert code(exc) == (403, "SignatureDoesNotMatch")
    no_token = TemporaryCredentials(wide.access_key_id, wide.secret_access_key, "", wide.expiration)
    with pytest.raises(ClientError) as exc:
        s3.client(
            access_key=no_token.access_key_id, secret_key=no_token.secret_access_key
        ).put_object(Bucket=bucket, Key="tbl1/x", Body=b"x")
    assert code(exc) == (403, "InvalidAccessKeyId")
    assert not exists(s3, bucket, "tbl1/x")


def test_presigned_url_with_session_token_respects_scope(
    s3: Endpoint, bucket: str, scoped: Callable[..., Any]
) -> None:
    import urllib.error
    import urllib.request

    s3.client().put_object(Bucket=bucket, Key="tbl1/p", Body=b"p")
    s3.client().put_object(Bucket=bucket, Key="tbl2/p", Body=b"p")
    client, _ = scoped(permission="object-read-only")
    ok = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "tbl1/p"})
    with urllib.request.urlopen(ok, timeout=30) as response:
        assert response.read() == b"p"
    denied = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "tbl2/p"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(denied, timeout=30)
    assert exc.value.code == 403
