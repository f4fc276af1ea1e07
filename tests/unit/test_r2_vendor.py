"""The R2 vendor against Cloudflare's documented contract, in process (httpx.MockTransport)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from catalog.settings import Settings
from catalog.vending.base import VendingUnavailable
from catalog.vending.r2 import (
    MAX_TTL_SECONDS,
    R2Defaults,
    R2Profiles,
    R2Vendor,
    R2VendorFactory,
)

ACCOUNT = "0123456789abcdef0123456789abcdef"
TOKEN = "cf-secret-api-token-value"
PARENT = "parent-key-id"
PREFIX = "s3://lake/ns/tbl1/"
CREDENTIALS = {"accessKeyId": "AK", "secretAccessKey": "SK", "sessionToken": "ST"}
DEFAULTS = R2Defaults(
    account_id=ACCOUNT,
    api_token=TOKEN,
    parent_access_key_id=PARENT,
    api_base="https://api.example/client/v4",
)


def envelope(result: Any = None, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"result": result, "success": not errors, "errors": errors or [], "messages": []}


def vendor(
    handler: Callable[[httpx.Request], httpx.Response],
    profile: dict[str, Any] | None = None,
    defaults: R2Defaults = DEFAULTS,
) -> R2Vendor:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return R2Vendor(R2Profiles(defaults), {"type": "r2", **(profile or {})}, client)


def answering(status: int, payload: Any) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=payload)


# profiles ---------------------------------------------------------------------------------
def test_profile_values_win_over_settings_except_the_api_token() -> None:
    profiles = R2Profiles(DEFAULTS)
    other = "fedcba9876543210fedcba9876543210"
    account = profiles.account(
        {"type": "r2", "account-id": other, "parent-access-key-id": "p2", "api-token": "t2"}
    )
    assert (account.account_id, account.parent_access_key_id, account.api_token) == (
        other,
        "p2",
        TOKEN,
    )
    assert TOKEN not in repr(account)


def test_parent_key_defaults_to_the_catalogs_own_r2_key() -> None:
    profiles = R2Profiles(R2Defaults(account_id=ACCOUNT, api_token=TOKEN))
    assert profiles.account({"type": "r2", "access-key-id": "mine"}).parent_access_key_id == "mine"


@pytest.mark.parametrize(
    ("defaults", "profile", "names"),
    [
        (R2Defaults(api_token=TOKEN, parent_access_key_id=PARENT), {}, "ICEFLOE_R2_ACCOUNT_ID"),
        (DEFAULTS, {"account-id": "../../evil"}, "ICEFLOE_R2_ACCOUNT_ID"),
        (R2Defaults(account_id=ACCOUNT, parent_access_key_id=PARENT), {}, "ICEFLOE_R2_API_TOKEN"),
        (R2Defaults(account_id=ACCOUNT, api_token=TOKEN), {}, "PARENT_ACCESS_KEY_ID"),
    ],
)
def test_incomplete_profiles_are_refused_at_creation_naming_the_setting(
    defaults: R2Defaults, profile: dict[str, Any], names: str
) -> None:
    with pytest.raises(ValueError, match=names) as refused:
        R2Profiles(defaults).check({"type": "r2", **profile})
    assert TOKEN not in str(refused.value)


def test_a_profile_token_is_refused_when_the_setting_holds_one() -> None:
    with pytest.raises(ValueError, match="ICEFLOE_R2_API_TOKEN") as refused:
        R2Profiles(DEFAULTS).check({"type": "r2", "api-token": "another"})
    assert "another" not in str(refused.value)
    no_setting = R2Defaults(account_id=ACCOUNT, parent_access_key_id=PARENT)
    R2Profiles(no_setting).check({"type": "r2", "api-token": "another"})


def test_other_profiles_are_left_alone() -> None:
    profile = {"type": "s3", "api-token": "x"}
    R2Profiles(DEFAULTS).check(profile)
    assert R2Profiles(DEFAULTS).resolve(profile) is profile


def test_resolved_profile_reaches_the_account_endpoint_with_the_parent_tokens_s3_keys() -> None:
    resolved = R2Profiles(DEFAULTS).resolve({"type": "r2"})
    assert resolved == {
        "type": "r2",
        "region": "auto",
        "endpoint": f"https://{ACCOUNT}.r2.cloudflarestorage.com",
        "access-key-id": PARENT,
        "secret-access-key": hashlib.sha256(TOKEN.encode()).hexdigest(),
    }


def test_resolved_profile_keeps_its_own_keys_and_endpoint() -> None:
    profile = {
        "type": "r2",
        "endpoint": "https://eu.example",
        "access-key-id": "a",
        "secret-access-key": "s",
    }
    assert R2Profiles(DEFAULTS).resolve(profile) == {**profile, "region": "auto"}


def test_settings_read_the_r2_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICEFLOE_R2_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("ICEFLOE_R2_API_TOKEN", TOKEN)
    monkeypatch.setenv("ICEFLOE_R2_PARENT_ACCESS_KEY_ID", PARENT)
    settings = Settings()
    defaults = R2Defaults.from_settings(settings)
    assert (defaults.account_id, defaults.api_token, defaults.parent_access_key_id) == (
        ACCOUNT,
        TOKEN,
        PARENT,
    )
    assert defaults.api_base == "https://api.cloudflare.com/client/v4"
    assert TOKEN not in repr(settings) and TOKEN not in repr(defaults)


# vending ----------------------------------------------------------------------------------
def test_request_is_the_documented_one_and_credentials_map_to_client_properties() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope(CREDENTIALS))

    before = datetime.now(UTC).replace(microsecond=0)
    credential = vendor(handler).vend(PREFIX, "write", timedelta(minutes=30))

    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == (
        f"https://api.example/client/v4/accounts/{ACCOUNT}/r2/temp-access-credentials"
    )
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "bucket": "lake",
        "parentAccessKeyId": PARENT,
        "permission": "object-read-write",
        "ttlSeconds": 1800,
        "prefixes": ["ns/tbl1/"],
    }
    assert credential.prefix == PREFIX
    assert before + timedelta(minutes=30) <= credential.expires_at
    assert credential.expires_at <= before + timedelta(minutes=30, seconds=2)
    assert credential.config == {
        "s3.access-key-id": "AK",
        "s3.secret-access-key": "SK",
        "s3.session-token": "ST",
        "s3.session-token-expires-at-ms": str(int(credential.expires_at.timestamp() * 1000)),
        "client.region": "auto",
        "s3.region": "auto",
        "s3.path-style-access": "true",
        "s3.endpoint": f"https://{ACCOUNT}.r2.cloudflarestorage.com",
    }


def test_reads_ask_for_read_only_and_ttl_is_capped_at_the_apis_maximum() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=envelope(CREDENTIALS))

    vendor(handler, {"endpoint": "http://127.0.0.1:9000"}).vend(PREFIX, "read", timedelta(days=30))
    assert bodies[0]["permission"] == "object-read-only"
    assert bodies[0]["ttlSeconds"] == MAX_TTL_SECONDS


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (
            answering(403, envelope(errors=[{"code": 10000, "message": "Authentication error"}])),
            "HTTP 403: 10000: Authentication error",
        ),
        (
            answering(200, envelope(errors=[{"code": 7, "message": f"bad token {TOKEN}"}])),
            "HTTP 200: 7: bad token [redacted]",
        ),
        (lambda request: httpx.Response(502, text="<html>bad gateway</html>"), "HTTP 502"),
        (answering(200, envelope({"accessKeyId": "AK"})), "without credentials"),
        (answering(200, {"success": True}), "without credentials"),
        (
            lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=request)),
            "did not answer in time",
        ),
        (
            lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused", request=request)),
            "could not be reached (ConnectError)",
        ),
    ],
)
def test_upstream_failures_are_vending_unavailable_without_the_token(
    handler: Callable[[httpx.Request], httpx.Response], reason: str
) -> None:
    with pytest.raises(VendingUnavailable) as failed:
        vendor(handler).vend(PREFIX, "write", timedelta(hours=1))
    assert reason in str(failed.value)
    assert TOKEN not in str(failed.value)
    # No httpx error (which holds the request, Authorization header included) rides along.
    error = failed.value
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


def test_a_profile_that_lost_its_settings_fails_as_unavailable_not_as_a_crash() -> None:
    lost = R2Defaults(parent_access_key_id=PARENT, api_token=TOKEN)
    with pytest.raises(VendingUnavailable, match="ICEFLOE_R2_ACCOUNT_ID"):
        vendor(answering(200, envelope(CREDENTIALS)), defaults=lost).vend(
            PREFIX, "read", timedelta(hours=1)
        )


def test_factory_shares_one_client_and_builds_vendors_without_calling_the_api() -> None:
    factory = R2VendorFactory(R2Profiles(DEFAULTS))
    first, second = factory({"type": "r2"}), factory({"type": "r2"})
    assert isinstance(first, R2Vendor) and isinstance(second, R2Vendor)
    assert first._http is second._http
