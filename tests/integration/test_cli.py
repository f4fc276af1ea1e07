"""The `icefloe` command: migrate and warehouse management, as an operator types them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def icefloe(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "catalog", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    first = icefloe("migrate", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Migrated database from empty" in first.stdout
    second = icefloe("migrate", data_dir=tmp_path)
    assert "up to date" in second.stdout


def test_warehouse_create_list_delete(tmp_path: Path) -> None:
    location = (tmp_path / "lake").as_uri()
    created = icefloe("warehouse", "create", "lake", location, data_dir=tmp_path)
    assert created.returncode == 0, created.stdout + created.stderr
    assert "Created warehouse lake" in created.stdout

    listed = icefloe("warehouse", "list", data_dir=tmp_path)
    assert "lake" in listed.stdout
    assert location in listed.stdout

    deleted = icefloe("warehouse", "delete", "lake", data_dir=tmp_path)
    assert deleted.returncode == 0
    assert "lake" not in icefloe("warehouse", "list", data_dir=tmp_path).stdout


def test_bad_warehouse_input_is_a_clear_error(tmp_path: Path) -> None:
    bad_name = icefloe(
        "warehouse", "create", "Bad Name", (tmp_path / "x").as_uri(), data_dir=tmp_path
    )
    assert bad_name.returncode == 1
    assert "Invalid warehouse name" in bad_name.stdout
    bad_scheme = icefloe("warehouse", "create", "ftp", "ftp://host/x", data_dir=tmp_path)
    assert bad_scheme.returncode == 1
    assert "scheme" in bad_scheme.stdout
    unreachable = icefloe(
        "warehouse",
        "create",
        "nowhere",
        "s3://bucket/prefix",
        "--endpoint",
        "http://127.0.0.1:1",
        data_dir=tmp_path,
    )
    assert unreachable.returncode == 1
    assert "Storage check failed" in unreachable.stdout
    missing = icefloe("warehouse", "delete", "ghost", data_dir=tmp_path)
    assert missing.returncode == 1
    assert "does not exist" in missing.stdout
