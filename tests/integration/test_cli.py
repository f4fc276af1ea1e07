"""The `icefloe` command: migrate and warehouse management, as an operator types them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from catalog.cli import app


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


def test_token_create_list_rotate_revoke(tmp_path: Path) -> None:
    icefloe("warehouse", "create", "lake", (tmp_path / "lake").as_uri(), data_dir=tmp_path)
    created = icefloe(
        "token",
        "create",
        "etl",
        "--permission",
        "read-write",
        "-w",
        "lake",
        "--expires-in",
        "30d",
        data_dir=tmp_path,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    bearer = created.stdout.strip().splitlines()[-1]
    assert bearer.startswith("icefloe_")
    token_id = bearer.split("_")[1]

    listed = icefloe("token", "list", data_dir=tmp_path)
    assert token_id in listed.stdout
    assert "read-write" in listed.stdout
    assert bearer.split("_", 2)[2] not in listed.stdout, "a secret is never listed"

    rotated = icefloe("token", "rotate", token_id, data_dir=tmp_path)
    assert rotated.stdout.strip().splitlines()[-1] != bearer

    assert icefloe("token", "revoke", token_id, data_dir=tmp_path).returncode == 0
    assert "revoked" in icefloe("token", "list", data_dir=tmp_path).stdout
    assert icefloe("token", "revoke", token_id, data_dir=tmp_path).returncode == 1


def test_token_scope_errors_are_clear(tmp_path: Path) -> None:
    no_scope = icefloe("token", "create", "x", "--permission", "read-only", data_dir=tmp_path)
    assert no_scope.returncode == 1
    assert "must name its warehouses" in no_scope.stdout
    unknown = icefloe("token", "create", "x", "-w", "ghost", data_dir=tmp_path)
    assert "Warehouse does not exist" in unknown.stdout
    bad_duration = icefloe(
        "token", "create", "x", "-w", "a", "--expires-in", "soon", data_dir=tmp_path
    )
    assert bad_duration.returncode != 0


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():
        paths += _command_paths(sub, (*path, name))
    return paths


def test_every_command_prints_its_help() -> None:
    """Help text is rich markup: a literal `[/prefix]` once crashed `warehouse create --help`
    with a MarkupError. Every command and group, asked for help, answers it."""
    root = typer.main.get_command(app)
    runner = CliRunner()
    paths = _command_paths(root)
    assert ("warehouse", "create") in paths and ("maintain",) in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], terminal_width=100)
        assert result.exit_code == 0, (path, result.output, result.exception)
        assert "Usage:" in result.output, (path, result.output)
    created = runner.invoke(app, ["warehouse", "create", "--help"], terminal_width=200)
    assert "s3://BUCKET[/prefix]" in created.output


def test_warehouse_approval_set_show_clear_and_search(tmp_path: Path) -> None:
    location = (tmp_path / "lake").as_uri()
    assert icefloe("warehouse", "create", "lake", location, data_dir=tmp_path).returncode == 0
    set_ = icefloe(
        "warehouse",
        "approval",
        "set",
        "lake",
        "--url",
        "https://approvals.example/icefloe",
        "--secret",
        "s3cr3t-value",
        "--timeout",
        "2",
        "--fail-open",
        "--rule",
        "drop-column",
        data_dir=tmp_path,
    )
    assert set_.returncode == 0, set_.stdout + set_.stderr
    shown = icefloe("warehouse", "approval", "show", "lake", data_dir=tmp_path).stdout
    assert "https://approvals.example/icefloe" in shown and "drop-column" in shown
    assert "allow" in shown and "s3cr3t-value" not in shown
    bad = icefloe("warehouse", "approval", "set", "lake", "--rule", "nope", data_dir=tmp_path)
    assert bad.returncode == 1 and "Unknown approval rule" in bad.stdout
    assert icefloe("warehouse", "approval", "clear", "lake", data_dir=tmp_path).returncode == 0
    cleared = icefloe("warehouse", "approval", "show", "lake", data_dir=tmp_path).stdout
    assert "no approval set" in cleared

    found = icefloe("search", "lake", data_dir=tmp_path)
    assert found.returncode == 0, found.stderr
    assert "kind" in found.stdout  # an empty warehouse: the table of results, with no rows
