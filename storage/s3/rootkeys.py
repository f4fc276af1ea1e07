"""The root key pair: configured explicitly, or generated once and kept in the data dir."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

ROOT_CREDENTIALS_FILE = "root-credentials.json"


@dataclass(frozen=True)
class RootCredentials:
    access_key_id: str
    secret_access_key: str
    stored_at: Path | None
    generated: bool


def load_or_create_root_credentials(
    data_dir: Path,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
) -> RootCredentials:
    """Return configured keys, else the stored pair, else a new pair written with mode 0600.

    The file is created with O_EXCL so two processes starting on an empty data dir
    cannot end up with different keys: the loser of the race reads the winner's file.
    """
    if access_key_id or secret_access_key:
        if not (access_key_id and secret_access_key):
            raise ValueError("give both the root access key id and secret, or neither")
        return RootCredentials(access_key_id, secret_access_key, None, generated=False)
    path = data_dir / ROOT_CREDENTIALS_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    pair = {
        "access_key_id": secrets.token_hex(16),
        "secret_access_key": secrets.token_hex(32),
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(pair, handle)
        handle.flush()
        os.fsync(handle.fileno())
    return RootCredentials(pair["access_key_id"], pair["secret_access_key"], path, generated=True)


def _read(path: Path) -> RootCredentials:
    for _ in range(50):
        text = path.read_text(encoding="utf-8")
        if text:
            data = json.loads(text)
            return RootCredentials(
                str(data["access_key_id"]), str(data["secret_access_key"]), path, generated=False
            )
        # Another process created the file a moment ago and has not written it yet.
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty")
