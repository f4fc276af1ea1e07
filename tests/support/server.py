"""A real `icefloe serve` process on a free port, for tests that speak HTTP to it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.ports import free_port

_TROUBLE = re.compile(r"status=[45]\d\d|WARNING|ERROR|CRITICAL|Traceback|Error:")


class CatalogServer:
    def __init__(
        self,
        data_dir: Path,
        database_url: str | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
        storage: str = "file",
        log_dir: Path | None = None,
    ) -> None:
        """`log_dir` (default: the data dir) keeps the server's output out of a data dir that
        `serve` itself is to create."""
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = port or free_port()
        self.s3_port = free_port()
        self.storage = storage
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = (log_dir or data_dir) / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def token(self) -> str:
        """The admin token `serve` created on first start."""
        return (self.data_dir / "admin.token").read_text().strip()

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def rest_client(self, warehouse: str = "default") -> httpx.Client:
        """An admin client for the REST API under the warehouse's prefix."""
        return httpx.Client(
            base_url=f"{self.url}/v1/{warehouse}", headers=self.auth_headers, timeout=30
        )

    def logged(self, since: int = 0) -> str:
        """The log's whole lines from byte `since` on: the server writes a line after the answer
        is sent, so a read may catch the last one half written, and a half line can look like a
        whole one with a shorter value."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode("utf-8", errors="replace")
        return text[: text.rfind("\n") + 1]

    def logged_with(self, *markers: str, since: int = 0, timeout: float = 10) -> str:
        """`logged(since)` once every marker is in it (or the timeout passed: the caller's
        assertion then says what is missing)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.logged(since)
            if all(marker in text for marker in markers) or time.monotonic() > deadline:
                return text
            time.sleep(0.05)

    def trouble(self, lines: int = 40) -> str:
        """The last lines of the server's log that say something went wrong: a refused or
        failed request (status 4xx/5xx, with the S3 error code on the store's lines), a
        warning, an error, a traceback."""
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        picked = [line for line in text if _TROUBLE.search(line)]
        return "\n".join(picked[-lines:]) or "(nothing refused or failed)"

    def start(self, timeout: float = 60) -> CatalogServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "catalog",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--s3-port",
            str(self.s3_port),
        ]
        if self.database_url:
            command += ["--database-url", self.database_url]
        env = {
            **os.environ,
            "ICEFLOE_LOG_LEVEL": "WARNING",
            "ICEFLOE_DEFAULT_WAREHOUSE_STORAGE": self.storage,
            **self.env,
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()[-4000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def server_pair(
    data_dirs: tuple[Path, Path], database_url: str, env: dict[str, str]
) -> Iterator[tuple[CatalogServer, CatalogServer]]:
    """Two `icefloe serve` processes on one database: one catalog, as behind a load balancer.
    `env` must give both the same `ICEFLOE_JWT_SIGNING_KEY` (each data dir would make its
    own); the admin token the first start created is the second's too."""
    first = CatalogServer(data_dirs[0], database_url, env=env).start()
    second = CatalogServer(data_dirs[1], database_url, env=env)
    try:
        second.start()
        (second.data_dir / "admin.token").write_text(first.token)
        yield first, second
    finally:
        second.stop()
        first.stop()
