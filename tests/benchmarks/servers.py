"""The processes the benchmarks talk to: catalog servers (`icefloe serve`, started as the tests
start it), the bare-ASGI baseline, and a PostgreSQL cluster made as durable as production.

The test harness starts PostgreSQL with `-c fsync=off` for speed; commit figures on it would
flatter PostgreSQL next to SQLite (which the catalog runs with `synchronous=FULL`). A command-line
setting outranks `ALTER SYSTEM`, so the benchmarks restart the harness's cluster without it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import psycopg

from tests.benchmarks.paths import REPO_ROOT
from tests.support.ports import free_port
from tests.support.postgres import PostgresCluster
from tests.support.server import CatalogServer

ADMIN_TOKEN_FILE = "admin.token"
BARE_ASGI_MODULE = "tests.benchmarks.bare_asgi"
DURABLE_POSTGRES = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on"}


def auth_headers(data_dir: Path) -> dict[str, str]:
    """The admin token `icefloe serve` leaves in its data directory, if it made one."""
    path = data_dir / ADMIN_TOKEN_FILE
    if not path.exists():
        return {}
    return {"Authorization": f"Bearer {path.read_text().strip()}"}


@contextmanager
def catalog_servers(
    data_dir: Path,
    database_url: str | None,
    count: int = 1,
    storage: str = "file",
    env: dict[str, str] | None = None,
) -> Iterator[list[CatalogServer]]:
    """`count` catalog processes on one database (more than one only makes sense on PostgreSQL).

    The first starts alone: on a fresh database it migrates, creates the default warehouse and
    the admin token, which the others then find. The default warehouse is a local folder (the
    test harness's choice too), so a commit writes its metadata file to disk with fsync, as
    the raw baseline does; the embedded S3 store `serve` runs beside the catalog stays idle.
    `storage="embedded"` puts the default warehouse on that store instead (the product's
    default); `env` adds `ICEFLOE_*` settings (e.g. the log level). Each is one process
    (`ICEFLOE_WORKERS=1` unless `env` says otherwise): the figures are per catalog process, and
    the CPU measured is that process's; the load_table suite's workers rows measure more.
    """
    settings = {"ICEFLOE_WORKERS": "1", **(env or {})}
    with ExitStack() as stack:
        servers: list[CatalogServer] = []
        for _ in range(count):
            server = CatalogServer(data_dir, database_url, env=settings, storage=storage).start()
            stack.callback(server.stop)
            servers.append(server)
        yield servers


def catalog_client(server: CatalogServer, timeout: float = 120) -> httpx.Client:
    """A set-up client for the default warehouse, authenticated as the admin."""
    return httpx.Client(
        base_url=f"{server.url}/v1/default",
        headers=auth_headers(server.data_dir),
        timeout=timeout,
    )


class BareServer:
    """The baseline process: `bare_asgi.py` served by `catalog.server.run`."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def bare_server(body: bytes, etag: str) -> Iterator[BareServer]:
    with tempfile.NamedTemporaryFile(prefix="bench-body-", suffix=".json") as handle:
        handle.write(body)
        handle.flush()
        port = free_port()
        command = [sys.executable, "-m", BARE_ASGI_MODULE, "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--body-file", handle.name, "--etag", etag],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until_serving(f"http://127.0.0.1:{port}/", process)
            yield BareServer(process, port)
        finally:
            process.terminate()
            process.wait(timeout=15)


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"baseline server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"baseline server did not answer at {url}")


class DurablePostgres(PostgresCluster):
    """The harness's throwaway cluster, restarted with PostgreSQL's durable defaults."""

    def start(self) -> None:
        super().start()
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300"
        )
        log = str(self.root / "log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "restart")


def start_postgres() -> PostgresCluster:
    cluster = DurablePostgres()
    cluster.start()
    facts = postgres_facts(cluster)
    if any(facts[name] != value for name, value in DURABLE_POSTGRES.items()):
        cluster.stop()
        raise RuntimeError(f"PostgreSQL is not durable after the restart: {facts}")
    return cluster


def postgres_facts(cluster: PostgresCluster) -> dict[str, str]:
    names = ("server_version", *DURABLE_POSTGRES, "shared_buffers", "max_connections")
    with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as connection:
        rows = {name: connection.execute(f"SHOW {name}").fetchone() for name in names}
    return {name: str(row[0]) if row else "?" for name, row in rows.items()}


def pid_of(server: CatalogServer) -> int:
    assert server.process is not None, "the server is not running"
    return server.process.pid
