"""Signing in to the console with the configured OIDC provider: authorization code + PKCE for
the console's public client, the token kept in sessionStorage and never put in a URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import Recorded, shoot
from tests.support.oidc_issuer import LocalIssuer
from tests.support.server import CatalogServer


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    local = LocalIssuer()
    yield local
    local.close()


@pytest.fixture(scope="module")
def server(
    issuer: LocalIssuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogServer]:
    """Overrides the package's server: this one trusts the local issuer and names a client."""
    env = {
        "ICEFLOE_OIDC_ISSUER": issuer.url,
        "ICEFLOE_OIDC_AUDIENCE": "icefloe",
        "ICEFLOE_OIDC_ROLES": json.dumps({"platform": {"permission": "admin"}}),
        "ICEFLOE_CONSOLE_CLIENT_ID": "icefloe-console",
    }
    catalog = CatalogServer(Path(tmp_path_factory.mktemp("console-oidc")), env=env).start()
    yield catalog
    catalog.stop()


def test_signing_in_with_the_provider_uses_code_and_pkce_and_keeps_the_token_out_of_urls(
    page: Page, server: CatalogServer, issuer: LocalIssuer, recorded: Recorded
) -> None:
    page.goto(f"{server.url}/ui/")
    page.get_by_role("button", name=f"Sign in with {issuer.url.removeprefix('http://')}").click()
    page.get_by_role("heading", name="Warehouses").wait_for()
    expect(page.locator("header")).to_contain_text("ana")
    expect(page.get_by_role("link", name="Admin")).to_be_visible()
    assert page.url == f"{server.url}/ui/"  # the code is gone from the address bar
    token = page.evaluate("sessionStorage.getItem('icefloe.token')")
    assert token.count(".") == 2  # the provider's JWT
    authorize = [u for u in recorded.urls if u.startswith(f"{issuer.url}/authorize")]
    assert len(authorize) == 1
    assert "code_challenge_method=S256" in authorize[0]
    assert "code_verifier" not in authorize[0]
    assert not [u for u in recorded.urls if token in u]
    shoot(page, "login-oidc")
