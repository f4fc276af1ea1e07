"""docker/Dockerfile and docker/compose.yaml, checked without a Docker engine (there is none on
this machine or in CI): the files reference what exists and settings that are real, and the
image's ENTRYPOINT + CMD and its HEALTHCHECK work when run outside Docker."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
import typer.main
import yaml

from catalog.cli import app
from catalog.settings import Settings
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    lines = [
        line
        for line in (DOCKER / "Dockerfile").read_text().splitlines()
        if not line.strip().startswith("#")
    ]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    parsed = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            parsed.append((keyword.upper(), rest.strip()))
    return parsed


def runtime_stage() -> list[Instruction]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def one(stage: list[Instruction], keyword: str) -> str:
    found = [rest for key, rest in stage if key == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {found}"
    return found[0]


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def healthcheck_command() -> list[str]:
    options_and_command = one(runtime_stage(), "HEALTHCHECK")
    _, _, command = options_and_command.partition(" CMD ")
    return exec_form(command)


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def setting_names() -> set[str]:
    return {f"ICEFLOE_{name.upper()}" for name in Settings.model_fields}


def cli_envvars() -> set[str]:
    found: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            if isinstance(envvar, str):
                found.add(envvar)
        for child in getattr(command, "commands", {}).values():
            walk(child)

    walk(typer.main.get_command(app))
    return found


def wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the server did not start"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)


# Dockerfile -----------------------------------------------------------------------------------
def test_dockerfile_is_multi_stage_on_python_slim_and_installs_the_lock_file() -> None:
    steps = instructions()
    bases = [rest.split()[0] for keyword, rest in steps if keyword == "FROM"]
    assert len(bases) >= 2
    assert all(base == "python:3.11-slim" for base in bases)
    build = steps[: max(i for i, (k, _) in enumerate(steps) if k == "FROM")]
    runs = " ".join(rest for keyword, rest in build if keyword == "RUN")
    assert "--requirement requirements.lock" in runs
    assert "--no-deps ." in runs
    runtime = runtime_stage()
    assert one(runtime, "EXPOSE").split() == ["8181", "9000"]
    assert one(runtime, "VOLUME") == "/data"
    assert any(k == "COPY" and rest.startswith("--from=") for k, rest in runtime)


def test_dockerfile_runtime_stage_runs_as_a_non_root_user_who_owns_the_data_dir() -> None:
    runtime = runtime_stage()
    user = one(runtime, "USER")
    assert user not in ("root", "0", "0:0")
    setup = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    assert f"useradd --system --uid 10001 --gid {user}" in setup
    assert f"chown {user}:{user} /data" in setup
    user_index = runtime.index(("USER", user))
    assert all(k != "RUN" for k, _ in runtime[user_index:]), "nothing runs as root after USER"


def test_dockerfile_copies_only_files_that_exist_and_the_dockerignore_lets_through() -> None:
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()]
    ignore = [line for line in ignore if not line.startswith("#")]
    assert ignore[0] == "*", "everything is excluded unless listed"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = []
    for keyword, rest in instructions():
        if keyword == "COPY" and not rest.startswith("--from="):
            copied += shlex.split(rest)[:-1]
    assert {"requirements.lock", "pyproject.toml", "catalog", "storage"} <= set(copied)
    for source in copied:
        assert (ROOT / source).exists(), source
        assert source in allowed, f"{source} is excluded by .dockerignore"
    for private in (".venv", "icefloe-data", "tests", ".git", "docker/r2.env"):
        assert private not in allowed


def test_entrypoint_and_cmd_serve_outside_docker_and_the_healthcheck_passes(
    tmp_path: Path,
) -> None:
    """The image's command, run here: `--host 0.0.0.0` becomes 127.0.0.1 (tests serve on
    loopback only) and `--data-dir /data` a temporary folder; ports come from the settings'
    environment variables, as `docker run -e ICEFLOE_PORT=...` would give them."""
    runtime = runtime_stage()
    entrypoint = exec_form(one(runtime, "ENTRYPOINT"))
    command = exec_form(one(runtime, "CMD"))
    assert entrypoint == ["icefloe"]
    assert command == ["serve", "--host", "0.0.0.0", "--data-dir", "/data"]
    icefloe = Path(sys.executable).parent / "icefloe"
    assert icefloe.exists(), "the icefloe console script (pyproject's [project.scripts])"
    substitutions = {"0.0.0.0": "127.0.0.1", "/data": str(tmp_path / "data")}
    argv = [str(icefloe), *(substitutions.get(arg, arg) for arg in command)]
    port, s3_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICEFLOE_")}
    env |= {"ICEFLOE_PORT": str(port), "ICEFLOE_S3_PORT": str(s3_port)}
    health = [sys.executable if part == "python" else part for part in healthcheck_command()]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}", tmp_path / "serve.log")
        passed = subprocess.run(health, env=env, capture_output=True, text=True)
        assert passed.returncode == 0, passed.stderr
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
        token = (tmp_path / "data" / "admin.token").read_text().strip()
        config = httpx.get(
            f"http://127.0.0.1:{port}/v1/config",
            params={"warehouse": "default"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert config.status_code == 200
        # The embedded S3 store listens too: unsigned requests get S3's own error.
        assert httpx.get(f"http://127.0.0.1:{s3_port}/", timeout=5).status_code == 403
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    stopped = subprocess.run(health, env=env, capture_output=True)
    assert stopped.returncode != 0, "the healthcheck fails once the server is gone"


# compose.yaml ---------------------------------------------------------------------------------
def test_compose_builds_the_dockerfile_from_the_repository_root() -> None:
    build = compose()["services"]["catalog"]["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    assert (context / ".dockerignore").exists()


def test_compose_catalog_uses_postgres_once_healthy_with_real_settings() -> None:
    services = compose()["services"]
    catalog, postgres = services["catalog"], services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert postgres["healthcheck"]["test"]
    assert catalog["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    environment = catalog["environment"]
    assert set(environment) <= setting_names()
    url = environment["ICEFLOE_DATABASE_URL"]
    match = re.fullmatch(r"postgresql\+psycopg://(\w+):(\S+)@postgres:5432/(\w+)", url)
    assert match, url
    assert match.group(1) == postgres["environment"]["POSTGRES_USER"]
    assert match.group(3) == postgres["environment"]["POSTGRES_DB"]
    assert match.group(2) == postgres["environment"]["POSTGRES_PASSWORD"]
    assert environment["ICEFLOE_LOG_FORMAT"] in ("json", "console")


def test_compose_publishes_the_image_ports_and_keeps_data_in_volumes() -> None:
    document = compose()
    catalog = document["services"]["catalog"]
    exposed = one(runtime_stage(), "EXPOSE").split()
    assert sorted(catalog["ports"]) == sorted(f"{port}:{port}" for port in exposed)
    volume = one(runtime_stage(), "VOLUME")
    mounts = dict(mount.split(":")[::-1] for mount in catalog["volumes"])
    assert mounts[volume] in document["volumes"]
    postgres_mounts = document["services"]["postgres"]["volumes"]
    assert any(m.endswith(":/var/lib/postgresql/data") for m in postgres_mounts)


def test_compose_reads_the_optional_r2_env_whose_example_names_real_settings() -> None:
    catalog = compose()["services"]["catalog"]
    assert catalog["env_file"] == [{"path": "r2.env", "required": False}]
    example = (DOCKER / "r2.env.example").read_text()
    names = set(re.findall(r"^#?\s*(ICEFLOE_[A-Z0-9_]+)=", example, re.M))
    assert {
        "ICEFLOE_R2_ACCOUNT_ID",
        "ICEFLOE_R2_API_TOKEN",
        "ICEFLOE_R2_PARENT_ACCESS_KEY_ID",
    } <= names
    unknown = names - setting_names() - cli_envvars()
    assert not unknown, f"not settings nor CLI variables: {unknown}"
    assert "docker/r2.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_docker_compose_config_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed on this machine")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed on this machine")
    result = subprocess.run(
        [docker, "compose", "-f", str(DOCKER / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
