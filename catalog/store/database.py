"""Engine creation: SQLite tuned for a catalog (WAL, immediate write locks) or PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTIONS: dict[str, Any] = {"icefloe_write": True}


def create_catalog_engine(url: str, *, pool_size: int = 20) -> Engine:
    """Create the engine for `url`.

    On SQLite every write transaction starts with `BEGIN IMMEDIATE`: taking the write lock up
    front means a writer waits on the busy timeout instead of failing with SQLITE_BUSY when it
    tries to upgrade a read snapshot another writer has moved past.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, future=True
        )

    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=pool_size,
        max_overflow=pool_size,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("icefloe_write") else ""
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def scrub_sqlite(engine: Engine) -> bool:
    """Leave no overwritten value in a SQLite database's files: VACUUM rebuilds every page
    (an UPDATE leaves the old row's bytes in the page's free space), and a truncating
    checkpoint moves the write-ahead log into the database and empties it. False when another
    connection's read kept the log from being emptied."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("VACUUM")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()
        cursor.close()
    finally:
        connection.close()
    return row is not None and not row[0]
