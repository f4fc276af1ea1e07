"""The console's public sign-in document and its Content-Security-Policy, from settings."""

from __future__ import annotations

from pathlib import Path

from catalog.console.routes import oidc_document, security_headers
from catalog.settings import Settings


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_oidc_is_offered_only_with_an_issuer_and_a_console_client_id(tmp_path: Path) -> None:
    assert oidc_document(settings(tmp_path)) == {"oidc": None}
    assert oidc_document(settings(tmp_path, oidc_issuer="https://id.example/")) == {"oidc": None}
    offered = oidc_document(
        settings(tmp_path, oidc_issuer="https://id.example/", console_client_id="icefloe-console")
    )
    assert offered == {
        "oidc": {
            "issuer": "https://id.example",
            "client-id": "icefloe-console",
            "scope": "openid profile",
        }
    }


def test_the_console_may_call_only_the_catalog_the_store_the_issuer_and_named_origins(
    tmp_path: Path,
) -> None:
    csp = security_headers(
        settings(
            tmp_path,
            s3_port=9100,
            oidc_issuer="https://id.example/realms/x",
            console_connect_origins=["https://acct.r2.cloudflarestorage.com/bucket"],
        )
    )["Content-Security-Policy"]
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src"))
    assert connect == (
        "connect-src 'self' http://127.0.0.1:9100 https://id.example "
        "https://acct.r2.cloudflarestorage.com"
    )
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
