"""The machine and software a run measured, kept with its figures: a ratio means little without
the cores, the CPU, the versions, and how busy the machine already was."""

from __future__ import annotations

import os
import platform
import re
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from tests.benchmarks.paths import REPO_ROOT
from tests.support.postgres import find_pg_bin

# Not declared by icefloe, but they decide how fast uvicorn and the load generator run.
SERVER_STACK = ("starlette", "uvloop", "httptools", "h11")


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    found = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return round(int(found.group(1)) / (1 << 20), 1) if found else None


def package_versions() -> dict[str, str]:
    """icefloe and every package it declares (its dev extras included), plus the server stack."""
    names = [
        re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
        for requirement in metadata.requires("icefloe") or []
    ]
    versions = {"icefloe": metadata.version("icefloe")}
    for name in sorted({*names, *SERVER_STACK}, key=str.lower):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _git_revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    revision = git("rev-parse", "--short", "HEAD") or "unknown (not a git checkout)"
    return f"{revision} (with uncommitted changes)" if git("status", "--porcelain") else revision


def _postgres_installed() -> str | None:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        return None
    out = subprocess.run(
        [str(bin_dir / "pg_ctl"), "--version"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() or None


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def describe(postgres: dict[str, str] | None) -> dict[str, Any]:
    """`postgres`: facts from the running cluster, when a suite started one."""
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres or {"installed": _postgres_installed(), "used": "no"},
        "packages": package_versions(),
        "revision": _git_revision(),
    }


def summary(machine: dict[str, Any]) -> str:
    packages = machine["packages"]
    postgres = machine["postgresql"]
    installed = re.search(r"\d+(\.\d+)+", postgres.get("installed") or "")
    pg = postgres.get("server_version") or (installed.group(0) if installed else "absent")
    return (
        f"{machine['cores']} cores ({machine['cpu_model']}), {machine['memory_gib']} GiB, "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, PostgreSQL {pg}, "
        f"icefloe {packages['icefloe']} @ {machine['revision']}, "
        f"uvicorn {packages.get('uvicorn')}, pyiceberg {packages.get('pyiceberg')}"
    )
