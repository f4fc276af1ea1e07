"""The committed console build matches its sources: a source edited without `./dev
console-build` (or a built file edited by hand) fails here. Hashes, not mtimes: a git clone
gives every file the checkout's time. The rule is scripts/manifest.mjs's, which writes it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[2] / "catalog" / "console"
WEB = CONSOLE / "web"
STATIC = CONSOLE / "static"


def files_under(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "node_modules" not in p.relative_to(root).parts
    )


def tree_hash(root: Path, files: list[str]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0")
        digest.update((root / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def manifest() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((STATIC / "manifest.json").read_text())
    return loaded


def test_the_built_console_was_made_from_the_sources_as_they_are_now() -> None:
    recorded = manifest()
    sources = files_under(WEB)
    assert recorded["sources"] == sources, "sources added or removed: run ./dev console-build"
    assert recorded["sources-sha256"] == tree_hash(WEB, sources), (
        "the console's sources changed since the committed build: run ./dev console-build"
    )


def test_the_built_files_are_the_ones_the_build_wrote() -> None:
    recorded = manifest()["files"]
    built = [f for f in files_under(STATIC) if f != "manifest.json"]
    assert isinstance(recorded, dict)
    assert sorted(recorded) == built
    for name in built:
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == recorded[name], name


def test_the_package_ships_an_index_that_loads_only_its_own_files() -> None:
    index = (STATIC / "index.html").read_text()
    assert '<script type="module" crossorigin src="/ui/assets/' in index
    assert "<script>" not in index and "style=" not in index
