"""Without an OTLP endpoint tracing costs nothing: the SDK is never imported and a span is
one shared do-nothing context manager, not an object per call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from catalog.observability import tracing

PROBE = """
import sys
from catalog.app import create_app
from catalog.observability import tracing
from catalog.settings import Settings
create_app(Settings(data_dir=sys.argv[1], embedded_s3=False, maintenance_enabled=False))
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk"))
print(tracing.enabled(), loaded)
"""


def test_a_server_without_an_endpoint_never_imports_the_sdk(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False []"


def test_a_span_when_off_is_the_same_empty_context_every_time() -> None:
    assert not tracing.enabled()
    first, second = tracing.span("commit"), tracing.span("store.swap")
    assert first is second
    with first as entered:
        assert entered is None
    assert tracing.request_span({"type": "http", "headers": []}) is None
