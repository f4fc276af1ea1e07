"""The README's quick start, run as written: `./dev serve`, then its PyIceberg script."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DEFAULT_URI = "http://127.0.0.1:8181"


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the quick start has a bash block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def quickstart_script() -> str:
    after_marker = README.split("<!-- quickstart-pyiceberg", 1)[1]
    block = re.search(r"```python\n(.*?)```", after_marker, re.S)
    assert block
    return block.group(1)


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second() -> None:
    commands = quick_start_commands()
    assert commands == ["./dev serve", "./dev test"]
    assert "./dev test" in (ROOT / ".ci" / "run").read_text()


def test_serve_then_the_readme_script_works_as_written(tmp_path: Path) -> None:
    port = 8181 if _port_is_free(8181) else free_port()
    # The README runs from the repository folder, where ./dev serve keeps ./icefloe-data;
    # here a temporary folder stands in for it, laid out the same way.
    env = {
        **os.environ,
        "ICEFLOE_DATA_DIR": str(tmp_path / "icefloe-data"),
        "ICEFLOE_PORT": str(port),
        "ICEFLOE_S3_PORT": str(free_port()),
    }
    server = subprocess.Popen(
        [str(ROOT / "dev"), "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(uri, server)
        script = quickstart_script().replace(DEFAULT_URI, uri)
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert "{'name': 'Oslo', 'population': 709000}" in result.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert "warehouse default" in output
    assert "embedded S3 store" in output
    for engine in ("PyIceberg", "DuckDB", "Spark"):
        assert engine in output
    assert f'uri="{uri}"' in output
    token = (tmp_path / "icefloe-data" / "admin.token").read_text().strip()
    assert output.count(token) == 1, "the admin token is printed exactly once"
    assert oct((tmp_path / "icefloe-data" / "admin.token").stat().st_mode & 0o777) == "0o600"


def _port_is_free(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
    except httpx.TransportError:
        return True
    return False


def _wait_healthy(uri: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"./dev serve exited: {server.stdout.read().decode()[-3000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{uri}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("./dev serve did not become healthy")
