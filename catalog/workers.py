"""`icefloe serve --workers N`: N processes answering on the same listening sockets.

One Python process answers on one core (the GIL), so a catalog on PostgreSQL runs one worker per
core by default. The parent does everything that must happen once (binds the catalog port and
the embedded store's port, migrates, creates the default warehouse, the admin token and the
signing key, sweeps the embedded store's leftovers, prints the connection help), then spawns
the workers and only supervises them:

- Each worker accepts on its own sockets and serves both ports, catalog and embedded store, as
  a single-process server does. The parent binds every worker's sockets, one group per port
  with SO_REUSEPORT, and the kernel spreads new connections over the group. (With one socket
  shared by all, an event loop that wakes up accepts every pending connection: the eight
  connections a client pool opens at once all went to one worker, which then did all the
  work.) A socket stays open in the parent while its worker restarts: the connections the
  kernel gives it meanwhile wait, as on a busy server, and are not refused. Before binding a
  group the parent binds the port alone, so a port in use fails as it would with one worker
  instead of joining another server's group. The store is made for processes sharing its
  directory (WAL indexes written in IMMEDIATE transactions, blobs renamed into place under
  random names, the startup sweep only under an exclusive lock, which the parent holds shared
  for its lifetime).
- Worker 0 runs the maintenance scheduler and the change-event dispatcher; the table lease is
  still what makes a job run once, and the dispatcher's lease what makes one process deliver
  events, also across several servers on one database.
- Caches stay per process and are bounded or validated against the database: a token row for at
  most a second, a warehouse row for a second (a stale one can only miss). A revoke or rotation
  through any worker advances an epoch in shared memory that voids every worker's token cache,
  so the server that revoked a token refuses it on the next request, whichever worker gets it.
- A worker that dies is started again (its index, hence the scheduler, is kept); one that keeps
  dying within seconds of its start stops the server with exit status 1. SIGTERM or SIGINT stops
  every worker gracefully and the parent exits 0; a worker whose parent dies (kill -9) dies too.

Workers are spawned, not forked: each starts a fresh interpreter, so no database connection,
SQLite handle, lock or library thread of the parent is carried across a fork.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from sqlalchemy.engine import make_url

from catalog.observability.metrics import worker_exited
from catalog.settings import Settings

log = logging.getLogger("icefloe.workers")

STOP_TIMEOUT = 45.0
"""As long as a single-process server may take: uvicorn's graceful shutdown (10 s), then the
maintenance job in progress (the scheduler waits 30 s for it)."""
QUICK_DEATH = 10.0
MAX_QUICK_DEATHS = 5


SPREAD_BY_KERNEL = hasattr(socket, "SO_REUSEPORT")
"""Without SO_REUSEPORT (Windows), the workers share one socket per port."""


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class WorkerCount:
    count: int
    explicit: bool


def worker_count(settings: Settings, cores: int | None = None) -> WorkerCount:
    """As asked; else one per core on PostgreSQL (or another server database) and one on
    SQLite, which lets one writer in at a time."""
    if settings.workers is not None:
        return WorkerCount(settings.workers, explicit=True)
    if is_sqlite_url(settings.resolved_database_url):
        return WorkerCount(1, explicit=False)
    return WorkerCount(cores or available_cores(), explicit=False)


def is_sqlite_url(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class SharedEpoch:
    """The token cache's epoch (`catalog.service.tokens.Epoch`) in memory the workers share."""

    def __init__(self, context: multiprocessing.context.SpawnContext) -> None:
        self._value = context.Value("q", 0)

    def current(self) -> int:
        return int(self._value.value)

    def advance(self) -> None:
        with self._value.get_lock():
            self._value.value += 1


def served_apps(settings: Settings, catalog_app: Any, s3_app: Any) -> dict[int, Any]:
    """Port -> the app answering there: the catalog, the embedded store when it runs here,
    and the metrics endpoint when it has a port of its own."""
    from catalog.api.metrics import MetricsEndpoint

    apps: dict[int, Any] = {settings.port: catalog_app}
    if s3_app is not None:
        apps[settings.s3_port] = s3_app
    if settings.metrics_port is not None:
        apps[settings.metrics_port] = MetricsEndpoint()
    return apps


# --- the parent --------------------------------------------------------------------------


class _Stop(Exception):
    """SIGTERM or SIGINT reached the parent."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signum)


class Supervisor:
    """Starts one worker per entry of `sockets` (each: port -> its listening socket) and keeps
    them running."""

    def __init__(self, settings: Settings, sockets: Sequence[Mapping[int, socket.socket]]):
        self.settings = settings
        self.sockets = [dict(own) for own in sockets]
        self.count = len(sockets)
        self._context = multiprocessing.get_context("spawn")
        self._epoch = SharedEpoch(self._context)
        self._workers: dict[int, BaseProcess] = {}
        self._started: dict[int, float] = {}
        self._quick_deaths = 0

    def _start(self, index: int) -> None:
        process = self._context.Process(
            target=worker_main,
            args=(self.settings, self.sockets[index], index, self._epoch),
            name=f"icefloe-worker-{index}",
        )
        process.start()
        self._workers[index] = process
        self._started[index] = time.monotonic()
        log.info("event=worker_started worker=%d pid=%s", index, process.pid)

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (0) or until workers keep dying at start (1)."""
        previous = {
            signum: signal.signal(signum, _raise_stop) for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for index in range(self.count):
                self._start(index)
            return self._watch()
        except _Stop as stop:
            log.info("event=server_stopping signal=%s workers=%d", stop, len(self._workers))
            return 0
        finally:
            for signum in previous:
                signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop
            self._stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _watch(self) -> int:
        while True:
            sentinels = {process.sentinel: index for index, process in self._workers.items()}
            for ready in multiprocessing.connection.wait(list(sentinels)):
                assert isinstance(ready, int)  # a process sentinel is a file descriptor
                index = sentinels[ready]
                process = self._workers.pop(index)
                process.join()
                if process.pid is not None:
                    worker_exited(process.pid)
                lived = time.monotonic() - self._started[index]
                log.warning(
                    "event=worker_exited worker=%d pid=%s exit_code=%s lived_s=%.1f",
                    index,
                    process.pid,
                    process.exitcode,
                    lived,
                )
                self._quick_deaths = self._quick_deaths + 1 if lived < QUICK_DEATH else 0
                if self._quick_deaths >= MAX_QUICK_DEATHS:
                    log.error("event=workers_keep_dying detail=stopping_the_server")
                    return 1
                if lived < QUICK_DEATH:
                    time.sleep(1.0)  # no tight restart loop on a worker that cannot start
                self._start(index)

    def _stop_all(self) -> None:
        # Closed here first, so that once the workers have closed theirs a connection is
        # refused at once (as by a single-process server) instead of waiting in the backlog:
        # a maintenance job still reading through the embedded store fails and ends.
        for own in self.sockets:
            for sock in own.values():
                sock.close()
        for process in self._workers.values():
            if process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self._workers.values():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("event=worker_killed pid=%s detail=no_graceful_stop", process.pid)
                process.kill()
                process.join()
        self._workers.clear()


# --- a worker ----------------------------------------------------------------------------


def _die_with_parent() -> None:
    """A worker must not outlive its parent (kill -9 of the server): it would keep the port."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _exit_on_signal(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def worker_main(
    settings: Settings, sockets: Mapping[int, socket.socket], index: int, epoch: SharedEpoch
) -> None:
    """One worker: the catalog and (when embedded) the store, served on inherited sockets."""
    # Imported here: the parent has them already, a spawned worker imports them once.
    from catalog import server
    from catalog.app import build_catalog, create_app
    from catalog.embedded_store import EmbeddedStore
    from catalog.logging import configure_logging

    _die_with_parent()
    configure_logging(settings.log_level, settings.log_format)
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again with the
    # handler that was there before: an exit that unwinds, so the `finally` below runs.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    embedded = EmbeddedStore.serving(settings) if settings.embedded_s3 else None
    s3_app = embedded.local if embedded else None
    catalog = build_catalog(settings, embedded, migrate=False)
    catalog.tokens.share_epoch(epoch)
    catalog_app = create_app(settings, catalog)
    apps = served_apps(settings, catalog_app, s3_app)
    scheduler = catalog_app.state.scheduler if index == 0 else None
    dispatcher = catalog_app.state.dispatcher if index == 0 else None
    log.info("event=worker_serving worker=%d pid=%d", index, os.getpid())
    try:
        if scheduler is not None:
            scheduler.start()
        if dispatcher is not None:
            dispatcher.start()
        server.serve(apps, [sockets[port] for port in apps])
    finally:
        if dispatcher is not None:
            dispatcher.stop()
        if scheduler is not None:
            scheduler.stop()
        if s3_app is not None:
            s3_app.close()
        catalog.context.store.engine.dispose()  # type: ignore[attr-defined]
