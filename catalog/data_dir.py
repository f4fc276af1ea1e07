"""The data directory at rest: the directory 0700, the database and the key files in it 0600.

The data directory holds what must stay with the catalog's own user: the SQLite database (and
its `-wal` and `-shm` files, which hold recent pages of it), the admin token, the access-token
signing key and the key that seals warehouse secrets. `prepare` applies the rule on every start
(`serve`, `migrate` and every CLI command that opens the catalog): what is missing is created
with these modes, and what an older version or a loose umask left readable by others is
tightened, with a warning naming the path and both modes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from catalog.settings import Settings

DIR_MODE = 0o700
FILE_MODE = 0o600
ADMIN_TOKEN_FILE = "admin.token"
JWT_SIGNING_KEY_FILE = "jwt-signing.key"
SECRETS_KEY_FILE = "secrets.key"
PRIVATE_FILES = (ADMIN_TOKEN_FILE, JWT_SIGNING_KEY_FILE, SECRETS_KEY_FILE)
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")

log = logging.getLogger("icefloe.files")


def prepare(settings: Settings, *, create: bool = False) -> None:
    """Apply the rule to the data directory and the SQLite database, wherever it lives.

    The data directory is created when asked (`serve`) or when the database lives in it; a
    SQLite database file that does not exist yet is created empty with mode 0600 before SQLite
    opens it, because SQLite creates its files 0644 and gives the `-wal` and `-shm` files the
    database file's mode. A directory holding a database elsewhere is created 0700 when
    missing but never changed when it exists (it may be shared, like /tmp).
    """
    database = sqlite_file(settings.resolved_database_url)
    data_dir = settings.data_dir.resolve()
    if create or (database is not None and database.parent == data_dir) or data_dir.exists():
        ensure_private_dir(data_dir)
        for name in PRIVATE_FILES:
            tighten(data_dir / name)
    if database is None:
        return
    if not database.parent.exists():
        ensure_private_dir(database.parent)
    descriptor = os.open(database, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(descriptor)
    for path in (database, *(database.with_name(database.name + s) for s in SQLITE_COMPANIONS)):
        tighten(path)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def ensure_private_dir(path: Path) -> None:
    """`path` exists with mode 0700 (its missing parents are created as usual)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=DIR_MODE)
    tighten(path)


def tighten(path: Path) -> None:
    """Take from `path` every permission of its group and of others, with a warning; a missing
    path is left alone, and so are the owner's own bits."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & 0o077 == 0:
        return
    tightened = current & ~0o077
    try:
        path.chmod(tightened)
    except PermissionError:
        log.warning(
            "event=file_mode_too_open path=%s mode=%s detail=%s",
            path,
            f"{current:04o}",
            "readable by other users of this machine, and not ours to change",
        )
        return
    log.warning(
        "event=file_mode_tightened path=%s mode=%s now=%s detail=%s",
        path,
        f"{current:04o}",
        f"{tightened:04o}",
        "was open to other users of this machine",
    )


def read_or_create_key(path: Path, generate: Callable[[], bytes]) -> bytes:
    """A key kept in a file of the data directory: read, or on first need created with mode
    0600 in a directory of mode 0700.

    Several processes may start at once on one data directory: each writes its key to a
    temporary file and links it into place, which fails for all but the first, so every process
    ends up with the same complete key.
    """
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    ensure_private_dir(path.parent)
    key = generate()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.write(descriptor, key)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return path.read_bytes().strip()
    finally:
        temporary.unlink()
    return key
