"""Serve the console's built files at `/ui` with a single-page-app fallback.

The console is plain static files plus one public document (`/ui/config.json`) that tells it how
to sign in; every catalog call it makes goes through the REST and admin APIs with the user's own
token, so nothing here authenticates. These are ordinary routes added after the API's routers and
no middleware: a `/v1` request never reaches them, so the hot paths pay nothing for the console.
The strict headers are set here, on the console's answers only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response

from catalog.api.responses import json_bytes
from catalog.service.rendering import dumps
from catalog.settings import Settings

STATIC = Path(__file__).parent / "static"
INDEX = "index.html"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(settings: Settings) -> dict[str, str]:
    """No inline script or style, nothing loaded from another origin, never framed, no Referer.
    The console may call only the catalog itself, the embedded store (presigned uploads), the
    OIDC issuer (token exchange) and the origins an operator adds."""
    connect = ["'self'"]
    if settings.embedded_s3:
        connect.append(_origin(settings.s3_endpoint))
    if settings.oidc_issuer:
        connect.append(_origin(settings.oidc_issuer))
    connect += [_origin(o) for o in settings.console_connect_origins]
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {' '.join(dict.fromkeys(connect))}; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def oidc_document(settings: Settings) -> dict[str, object]:
    """What the sign-in page needs to offer OIDC (authorization code + PKCE): the issuer and the
    console's public client id, or nothing when either is unset (token sign-in only)."""
    if not settings.oidc_issuer or not settings.console_client_id:
        return {"oidc": None}
    return {
        "oidc": {
            "issuer": settings.oidc_issuer.rstrip("/"),
            "client-id": settings.console_client_id,
            "scope": settings.console_oidc_scope,
        }
    }


@lru_cache(maxsize=256)
def _asset(relative: str) -> Path | None:
    """The built file for a path under `/ui/`, or None (then the app's index answers).
    Resolved and checked to stay inside the static folder: `..` cannot climb out."""
    if not relative or relative.endswith("/"):
        return None
    candidate = (STATIC / relative).resolve()
    root = STATIC.resolve()
    if root not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def _file(path: Path, immutable: bool, security: dict[str, str]) -> Response:
    headers = dict(security)
    headers["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
    return FileResponse(path, headers=headers)


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    config_body = dumps(oidc_document(settings))
    security = security_headers(settings)

    @router.get("/")
    async def root() -> Response:
        return RedirectResponse("/ui/", status_code=307)

    @router.get("/ui")
    async def ui_bare() -> Response:
        return RedirectResponse("/ui/", status_code=307)

    @router.get("/ui/config.json")
    async def console_config() -> Response:
        return json_bytes(config_body, headers={**security, "Cache-Control": "no-cache"})

    @router.get("/ui/{path:path}")
    async def ui(path: str) -> Response:
        asset = _asset(path)
        if asset is not None:
            return _file(asset, immutable=path.startswith("assets/"), security=security)
        index = STATIC / INDEX
        if not index.is_file():
            return json_bytes(
                b'{"error":{"message":"The console is not built (./dev console-build)",'
                b'"type":"NotFoundException","code":404}}',
                status_code=404,
            )
        return _file(index, immutable=False, security=security)

    return router


def install(app: FastAPI, settings: Settings) -> None:
    """Add the console's routes last, after every API router, so API paths match first."""
    app.include_router(build_router(settings))
