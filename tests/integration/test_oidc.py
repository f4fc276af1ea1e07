"""JWTs from an external OpenID Connect issuer: accepted when everything checks out, refused
when anything does not."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.oidc_issuer import LocalIssuer
from tests.support.server import CatalogServer

ROLES = {
    "analysts": {"permission": "read-only", "warehouses": ["default"]},
    "platform": {"permission": "admin"},
}


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    local = LocalIssuer()
    yield local
    local.close()


@pytest.fixture(scope="module")
def oidc_server(issuer: LocalIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        "ICEFLOE_OIDC_ISSUER": issuer.url,
        "ICEFLOE_OIDC_AUDIENCE": "icefloe",
        "ICEFLOE_OIDC_ROLES": json.dumps(ROLES),
        "ICEFLOE_OIDC_LEEWAY_SECONDS": "5",
    }
    server = CatalogServer(Path(tmp_path_factory.mktemp("oidc")), env=env).start()
    yield server.url
    server.stop()


def get(url: str, token: str, path: str = "/v1/default/namespaces") -> httpx.Response:
    return httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"})


def test_a_token_from_the_issuer_works_with_its_roles(
    oidc_server: str, issuer: LocalIssuer
) -> None:
    analyst = issuer.token()
    assert get(oidc_server, analyst).status_code == 200
    refused = httpx.post(
        f"{oidc_server}/v1/default/namespaces",
        json={"namespace": ["x"]},
        headers={"Authorization": f"Bearer {analyst}"},
    )
    assert refused.status_code == 403
    who = get(oidc_server, analyst, "/admin/v1/whoami").json()
    assert who["name"] == "ana"
    admin = issuer.token(roles=["platform"], sub="ops")
    assert get(oidc_server, admin, "/admin/v1/tokens").status_code == 200


def test_a_token_without_a_known_role_may_do_nothing(oidc_server: str, issuer: LocalIssuer) -> None:
    assert get(oidc_server, issuer.token(roles=["visitors"])).status_code == 403


@pytest.mark.parametrize(
    "case",
    ["wrong audience", "wrong issuer", "expired", "unknown key id", "alg none", "foreign key"],
)
def test_bad_tokens_are_refused(oidc_server: str, issuer: LocalIssuer, case: str) -> None:
    if case == "wrong audience":
        token = issuer.token(aud="someone-else")
    elif case == "wrong issuer":
        token = issuer.token(iss="https://evil.example")
    elif case == "expired":
        token = issuer.token(exp=int(time.time()) - 60, iat=int(time.time()) - 600)
    elif case == "unknown key id":
        token = issuer.token(
            kid="nope", key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
    elif case == "foreign key":
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = issuer.token(key=stranger)
    else:
        header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        claims = json.loads(base64.urlsafe_b64decode(issuer.token().split(".")[1] + "=="))
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        token = f"{header}.{body}."
    response = get(oidc_server, token)
    assert response.status_code == 401, (case, response.text)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_key_rotation_is_followed(oidc_server: str, issuer: LocalIssuer) -> None:
    assert get(oidc_server, issuer.token()).status_code == 200
    issuer.rotate(drop_old=True)
    assert get(oidc_server, issuer.token()).status_code == 200
