"""One real `icefloe serve` for the package (default warehouse on its embedded S3 store), one
Chromium per module; a fresh browser context (empty sessionStorage) per test. Every request URL
a page makes is recorded, and a test fails if any carried a token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, sync_playwright

from tests.support.chromium import FLAGS, find_chromium
from tests.support.server import CatalogServer

#: CI keeps this folder (gitignored); each browser test leaves a screenshot of its page here.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogServer]:
    catalog = CatalogServer(tmp_path_factory.mktemp("console"), storage="embedded").start()
    yield catalog
    catalog.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: run the suite through ./dev test")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=FLAGS
        )
        yield launched
        launched.close()


class Recorded:
    """What a page did that a test may assert on: request URLs and JavaScript dialogs."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.dialogs: list[str] = []


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


@pytest.fixture
def page(
    browser: Browser, server: CatalogServer, recorded: Recorded, request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)

    def on_request(req: Request) -> None:
        recorded.urls.append(req.url)

    def on_dialog(dialog: Any) -> None:
        recorded.dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("request", on_request)
    opened.on("dialog", on_dialog)
    yield opened
    context.close()
    secrets = [server.token, *getattr(request.node, "tokens_used", [])]
    leaked = [u for u in recorded.urls if any(s and s in u for s in secrets)]
    assert not leaked, f"a token went into a URL: {leaked}"
    # A presigned PUT to the object store carries its own short-lived session token
    # (X-Amz-Security-Token, scoped to one key: the URL is the permission); no URL of the
    # catalog's may carry one.
    catalog_urls = [u for u in recorded.urls if u.startswith(server.url)]
    assert not [u for u in catalog_urls if "token=" in u.lower()], catalog_urls
    presigned = [u for u in recorded.urls if u.startswith(server.s3_url)]
    assert all("X-Amz-Signature=" in u for u in presigned), presigned


def sign_in(page: Page, server: CatalogServer, token: str) -> None:
    page.goto(f"{server.url}/ui/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Warehouses").wait_for()


def shoot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
