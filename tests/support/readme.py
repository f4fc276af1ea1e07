"""The README's code blocks, by name, so that tests run exactly what the README shows.

A block is named by an HTML comment on the line before its fence:

    <!-- snippet: duckdb-bearer -->
    ```sql
    ...
    ```
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

_SNIPPET = re.compile(r"<!-- snippet: ([\w.-]+)[^>]*-->\s*\n```[\w-]*\n(.*?)```", re.S)


def snippets(text: str | None = None) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, body in _SNIPPET.findall(README.read_text() if text is None else text):
        assert name not in found, f"README snippet {name!r} is defined twice"
        found[name] = body
    return found


def snippet(name: str) -> str:
    """The named block's text; a test using a renamed or deleted block fails here."""
    blocks = snippets()
    assert name in blocks, f"README has no snippet {name!r} (has: {sorted(blocks)})"
    return blocks[name]
