"""How `icefloe serve` answers for the console: at /ui with a single-page-app fallback,
strict security headers, a public sign-in document, and nothing outside its folder."""

from __future__ import annotations

import re

import httpx

from tests.support.server import CatalogServer


def get(server: CatalogServer, path: str) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", follow_redirects=False)


def test_the_root_and_bare_ui_redirect_to_the_console(server: CatalogServer) -> None:
    for path in ("/", "/ui"):
        answer = get(server, path)
        assert answer.status_code == 307
        assert answer.headers["location"] == "/ui/"


def test_any_console_path_answers_the_app_with_strict_headers(server: CatalogServer) -> None:
    for path in ("/ui/", "/ui/w/default/n/sales/t/orders", "/ui/admin/tokens"):
        answer = get(server, path)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        assert '<div id="app">' in answer.text
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self';" in csp  # no 'unsafe-inline', no other origin
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-cache"


def test_built_assets_are_served_immutable_with_their_type(server: CatalogServer) -> None:
    index = get(server, "/ui/").text
    script = re.search(r'src="(/ui/assets/[^"]+\.js)"', index)
    assert script
    answer = get(server, script.group(1))
    assert answer.status_code == 200
    assert "javascript" in answer.headers["content-type"]
    assert "immutable" in answer.headers["cache-control"]
    assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_a_path_climbing_out_of_the_console_gets_the_app_not_a_file(
    server: CatalogServer,
) -> None:
    for path in ("/ui/%2e%2e/%2e%2e/routes.py", "/ui/..%2f..%2froutes.py", "/ui/../admin.token"):
        answer = httpx.get(f"{server.url}{path}")
        assert answer.status_code in (200, 404)
        assert "def build_router" not in answer.text
        assert server.token not in answer.text


def test_the_sign_in_document_is_public_and_offers_no_oidc_when_none_is_set(
    server: CatalogServer,
) -> None:
    answer = get(server, "/ui/config.json")
    assert answer.status_code == 200
    assert answer.json() == {"oidc": None}


def test_the_console_opens_nothing_on_the_apis(server: CatalogServer) -> None:
    assert get(server, "/v1/config").status_code == 401
    assert get(server, "/admin/v1/whoami").status_code == 401
    assert "content-security-policy" not in get(server, "/v1/config").headers
