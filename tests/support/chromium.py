"""Debian's `chromium` for the console's browser tests (Playwright drives it; never a
browser build of Playwright's own). `./dev test` installs the package when it is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

#: Quiet, offline, sandbox-less (tests run as root in CI): nothing reaches out of the machine.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None
