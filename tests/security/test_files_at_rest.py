"""Files at rest (issue 13, finding 5): what another user of the machine, or a copy of the
database file, can learn.

The data directory is 0700 and the database, its -wal/-shm files and the key files in it 0600,
whether `serve` or `migrate` created them or an older version left them open (then tightened
with a warning). Warehouse secrets never reach the database in clear: they are sealed with a
key kept outside it (`ICEFLOE_SECRETS_KEY` or `secrets.key`), or named from the environment,
and the warehouse still works because the server opens them where it uses them. Each secret
here is a unique marker string searched for in the raw bytes of the database files.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sqlite3
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from storage.s3 import CredentialAuthority
from tests.support.error_model import assert_error
from tests.support.fake_cloudflare import FakeCloudflareApi
from tests.support.server import CatalogServer

ROOT_KEY_ID = "atrestroot0123456789"
ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
PARENT_ACCESS_KEY_ID = "parent0123456789abcdef0123456789"
VENDED = {"X-Iceberg-Access-Delegation": "vended-credentials"}
PRIVATE_FILES = ("admin.token", "jwt-signing.key")
SEALED = b"icefloe:sealed:v1:"


def marker(kind: str) -> str:
    return f"atrest-{kind}-marker-{uuid.uuid4().hex}"


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most machines have (0022): without the rule, files come out 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def icefloe(
    *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "catalog", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **(env or {})},
    )


def server_with_root_secret(
    data_dir: Path, root_secret: str, log_dir: Path, env: dict[str, str] | None = None
) -> CatalogServer:
    """A server whose embedded store's root secret is `root_secret`: a warehouse profile that
    names it works only if the server has the secret back in clear."""
    return CatalogServer(
        data_dir,
        storage="embedded",
        log_dir=log_dir,
        env={
            "ICEFLOE_S3_ROOT_ACCESS_KEY_ID": ROOT_KEY_ID,
            "ICEFLOE_S3_ROOT_SECRET_ACCESS_KEY": root_secret,
            **(env or {}),
        },
    )


def s3_profile(server: CatalogServer, secret: str) -> dict[str, Any]:
    return {
        "type": "s3",
        "endpoint": server.s3_url,
        "region": "auto",
        "access-key-id": ROOT_KEY_ID,
        "secret-access-key": secret,
    }


def create_bucket(server: CatalogServer, root_secret: str, bucket: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=server.s3_url,
        region_name="auto",
        aws_access_key_id=ROOT_KEY_ID,
        aws_secret_access_key=root_secret,
    )
    s3.create_bucket(Bucket=bucket)


def admin(server: CatalogServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30)


def create_warehouse_by_api(
    server: CatalogServer, name: str, storage: dict[str, Any]
) -> httpx.Response:
    with admin(server) as http:
        return http.post(
            "/admin/v1/warehouses",
            json={"name": name, "location": f"s3://{name}", "storage": storage},
        )


def create_table(
    server: CatalogServer, warehouse: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A namespace and a table: the table's metadata file is written to the warehouse's
    storage with the profile's secret."""
    namespace = f"ns_{uuid.uuid4().hex[:8]}"
    with admin(server) as http:
        created = http.post(f"/v1/{warehouse}/namespaces", json={"namespace": [namespace]})
        assert created.status_code == 200, created.text
        return http.post(
            f"/v1/{warehouse}/namespaces/{namespace}/tables",
            json={"name": "t", "schema": {"type": "struct", "fields": []}},
            headers=headers or {},
        )


def database_bytes(data_dir: Path) -> bytes:
    """Everything SQLite keeps on disk for the catalog, read raw."""
    files = [data_dir / f"catalog.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
    return b"".join(path.read_bytes() for path in files if path.exists())


def checkpoint(data_dir: Path) -> None:
    """Move the write-ahead log into the database file, as SQLite does on its own."""
    connection = sqlite3.connect(data_dir / "catalog.db", timeout=30)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()


def assert_not_at_rest(data_dir: Path, *values: str) -> None:
    """Neither in the files as the server left them, nor after a checkpoint."""
    for _ in range(2):
        raw = database_bytes(data_dir)
        for value in values:
            assert value.encode() not in raw, f"{value} is in the database files"
        checkpoint(data_dir)


def insert_legacy_warehouse(data_dir: Path, name: str, storage: dict[str, Any]) -> None:
    """A warehouse row as a version before sealing wrote it: secrets in clear."""
    connection = sqlite3.connect(data_dir / "catalog.db", timeout=30)
    try:
        with connection:
            connection.execute(
                "INSERT INTO warehouses (id, name, location, storage, properties, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, '{}', '2025-01-01 00:00:00.000000', "
                "'2025-01-01 00:00:00.000000')",
                (str(uuid.uuid4()), name, f"s3://{name}", json.dumps(storage)),
            )
    finally:
        connection.close()


def assert_private(data_dir: Path) -> None:
    assert mode(data_dir) == 0o700, oct(mode(data_dir))
    for path in data_dir.iterdir():
        if path.name.startswith("catalog.db") or path.name in (*PRIVATE_FILES, "secrets.key"):
            assert mode(path) == 0o600, (path.name, oct(mode(path)))


# file modes -------------------------------------------------------------------------------
def test_serve_on_a_fresh_dir_creates_it_0700_and_its_database_and_keys_0600(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "fresh" / "data"
    server = CatalogServer(data_dir, log_dir=tmp_path / "logs").start()
    try:
        present = {p.name for p in data_dir.iterdir()}
        assert {"catalog.db", "catalog.db-wal", "catalog.db-shm", *PRIVATE_FILES} <= present
        assert_private(data_dir)
    finally:
        server.stop()
    assert "file_mode_tightened" not in server.log_path.read_text()


def test_migrate_on_a_fresh_dir_creates_it_0700_and_its_database_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    migrated = icefloe("migrate", data_dir=data_dir)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert (data_dir / "catalog.db").exists()
    assert_private(data_dir)
    assert "file_mode_tightened" not in migrated.stderr


def loosen(data_dir: Path, names: tuple[str, ...]) -> None:
    data_dir.chmod(0o755)
    for name in names:
        (data_dir / name).chmod(0o644)


def assert_tightened(output: str, data_dir: Path, names: tuple[str, ...]) -> None:
    resolved = data_dir.resolve()
    assert f"event=file_mode_tightened path={resolved} mode=0755 now=0700" in output, output
    for name in names:
        line = f"event=file_mode_tightened path={resolved / name} mode=0644 now=0600"
        assert line in output, output


def test_an_open_data_dir_is_tightened_by_serve_with_a_warning(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = CatalogServer(data_dir, log_dir=tmp_path / "logs").start()
    server.stop()
    names = ("catalog.db", *PRIVATE_FILES)
    loosen(data_dir, names)

    server.start()
    try:
        assert_private(data_dir)
    finally:
        server.stop()
    assert_tightened(server.log_path.read_text(), data_dir, names)


def test_an_open_data_dir_is_tightened_by_migrate_with_a_warning(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert icefloe("migrate", data_dir=data_dir).returncode == 0
    (data_dir / "admin.token").write_text("icefloe_0123456789abcdef_secret\n")
    names = ("catalog.db", "admin.token")
    loosen(data_dir, names)

    migrated = icefloe("migrate", data_dir=data_dir)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert_private(data_dir)
    assert_tightened(migrated.stderr, data_dir, names)


# warehouse secrets ------------------------------------------------------------------------
S3_SECRET = marker("s3-secret")
R2_TOKEN = marker("r2-api-token")
ENV_SECRET_NAME = "ATREST_WAREHOUSE_SECRET"


@pytest.fixture(scope="module")
def cloudflare_and_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FakeCloudflareApi, CatalogServer]]:
    """A server whose embedded store's root secret is S3_SECRET, beside a Cloudflare API that
    mints credentials only for the bearer R2_TOKEN. No ICEFLOE_R2_API_TOKEN: the R2 warehouse's
    profile carries the token, so it is stored (sealed) in the database."""
    api = FakeCloudflareApi(
        ACCOUNT_ID,
        R2_TOKEN,
        PARENT_ACCESS_KEY_ID,
        lambda: CredentialAuthority(ROOT_KEY_ID, S3_SECRET),
    ).start()
    base = tmp_path_factory.mktemp("at-rest")
    server = server_with_root_secret(
        base / "data",
        S3_SECRET,
        base / "logs",
        env={
            "ICEFLOE_R2_API_BASE": api.url,
            "ICEFLOE_R2_ACCOUNT_ID": ACCOUNT_ID,
            "ICEFLOE_R2_PARENT_ACCESS_KEY_ID": PARENT_ACCESS_KEY_ID,
            ENV_SECRET_NAME: S3_SECRET,
        },
    ).start()
    yield api, server
    server.stop()
    api.stop()


@pytest.fixture(scope="module")
def server(cloudflare_and_server: tuple[FakeCloudflareApi, CatalogServer]) -> CatalogServer:
    return cloudflare_and_server[1]


@pytest.fixture(scope="module")
def cli_warehouse(server: CatalogServer) -> str:
    """Made as an operator would: `icefloe warehouse create` with the secret in its
    environment variable."""
    name = "cli-static"
    create_bucket(server, S3_SECRET, name)
    created = icefloe(
        "warehouse",
        "create",
        name,
        f"s3://{name}",
        "--endpoint",
        server.s3_url,
        "--access-key-id",
        ROOT_KEY_ID,
        data_dir=server.data_dir,
        env={"ICEFLOE_S3_SECRET_ACCESS_KEY": S3_SECRET},
    )
    assert created.returncode == 0, created.stdout + created.stderr
    return name


@pytest.fixture(scope="module")
def r2_warehouse(server: CatalogServer) -> str:
    name = "r2-sealed"
    create_bucket(server, S3_SECRET, name)
    profile = {**s3_profile(server, S3_SECRET), "type": "r2", "api-token": R2_TOKEN}
    created = create_warehouse_by_api(server, name, profile)
    assert created.status_code == 201, created.text
    return name


def test_a_secret_from_warehouse_create_is_sealed_at_rest_and_the_warehouse_works(
    server: CatalogServer, cli_warehouse: str
) -> None:
    table = create_table(server, cli_warehouse)
    assert table.status_code == 200, table.text  # metadata written with the opened secret

    assert_not_at_rest(server.data_dir, S3_SECRET)
    assert SEALED in database_bytes(server.data_dir)
    assert mode(server.data_dir / "secrets.key") == 0o600


def test_a_sealed_r2_api_token_still_vends_credentials(
    cloudflare_and_server: tuple[FakeCloudflareApi, CatalogServer], r2_warehouse: str
) -> None:
    api, server = cloudflare_and_server
    table = create_table(server, r2_warehouse, VENDED)
    assert table.status_code == 200, table.text
    config = table.json()["config"]
    assert config["s3.access-key-id"] in api.issued  # Cloudflare took the opened token
    assert api.received[-1].authorization == f"Bearer {R2_TOKEN}"

    assert_not_at_rest(server.data_dir, S3_SECRET, R2_TOKEN)


def test_a_secret_named_from_the_environment_is_read_where_used_and_never_stored(
    server: CatalogServer,
) -> None:
    name = "env-named"
    create_bucket(server, S3_SECRET, name)
    profile = s3_profile(server, f"env:{ENV_SECRET_NAME}")
    created = create_warehouse_by_api(server, name, profile)
    assert created.status_code == 201, created.text
    assert create_table(server, name).status_code == 200

    assert f"env:{ENV_SECRET_NAME}".encode() in database_bytes(server.data_dir)
    assert_not_at_rest(server.data_dir, S3_SECRET)

    unset = create_warehouse_by_api(server, "env-unset", s3_profile(server, "env:ATREST_UNSET"))
    assert "ATREST_UNSET" in assert_error(unset, 400, "BadRequestException")


def test_warehouse_list_and_the_admin_api_never_show_a_secret(
    server: CatalogServer, cli_warehouse: str, r2_warehouse: str
) -> None:
    listed = icefloe("warehouse", "list", data_dir=server.data_dir)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert cli_warehouse in listed.stdout
    with admin(server) as http:
        shown = http.get("/admin/v1/warehouses")
    assert shown.status_code == 200
    assert {cli_warehouse, r2_warehouse} <= {w["name"] for w in shown.json()["warehouses"]}
    for text in (listed.stdout + listed.stderr, shown.text):
        for secret in (S3_SECRET, R2_TOKEN, SEALED.decode()):
            assert secret not in text


def test_clear_secrets_of_an_older_version_are_sealed_by_migrate_and_by_serve(
    tmp_path: Path,
) -> None:
    secret = marker("legacy-secret")
    data_dir = tmp_path / "data"
    server = server_with_root_secret(data_dir, secret, tmp_path / "logs").start()
    for bucket in ("legacy-one", "legacy-two"):
        create_bucket(server, secret, bucket)
    server.stop()

    insert_legacy_warehouse(data_dir, "legacy-one", s3_profile(server, secret))
    migrated = icefloe("migrate", data_dir=data_dir)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "event=warehouse_secrets_sealed warehouses=legacy-one" in migrated.stderr
    assert_not_at_rest(data_dir, secret)

    insert_legacy_warehouse(data_dir, "legacy-two", s3_profile(server, secret))
    server.start()
    try:
        for warehouse in ("legacy-one", "legacy-two"):
            table = create_table(server, warehouse)
            assert table.status_code == 200, table.text
        assert_not_at_rest(data_dir, secret)
    finally:
        server.stop()
    assert "event=warehouse_secrets_sealed warehouses=legacy-two" in server.log_path.read_text()


def start_fails(server: CatalogServer) -> str:
    """What the server said before it exited, as one line (the console wraps long ones)."""
    with pytest.raises(RuntimeError, match="exited early") as failed:
        server.start(timeout=60)
    return " ".join(str(failed.value).split())


def test_with_icefloe_secrets_key_no_key_file_is_made_and_a_wrong_key_stops_the_start(
    tmp_path: Path,
) -> None:
    secret, key = marker("keyed-secret"), new_key()
    data_dir = tmp_path / "data"
    server = server_with_root_secret(
        data_dir, secret, tmp_path / "logs", env={"ICEFLOE_SECRETS_KEY": key}
    ).start()
    try:
        create_bucket(server, secret, "keyed")
        created = create_warehouse_by_api(server, "keyed", s3_profile(server, secret))
        assert created.status_code == 201, created.text
        assert create_table(server, "keyed").status_code == 200
        assert not (data_dir / "secrets.key").exists()
        assert_not_at_rest(data_dir, secret)
    finally:
        server.stop()

    server.env["ICEFLOE_SECRETS_KEY"] = new_key()
    output = start_fails(server)
    assert "sealed with secrets key" in output and "Traceback" not in output, output

    server.env["ICEFLOE_SECRETS_KEY"] = "not-a-key"
    output = start_fails(server)
    assert "is not 32 random bytes in base64" in output and "Traceback" not in output, output

    server.env["ICEFLOE_SECRETS_KEY"] = key
    server.start()
    try:
        assert create_table(server, "keyed").status_code == 200
    finally:
        server.stop()


def test_a_secret_sealed_with_another_key_is_a_503_error_model_at_use(tmp_path: Path) -> None:
    """The CLI ran with a key the server does not have: the server still starts (it had no
    sealed secret then), and using the warehouse says why it cannot, without a traceback."""
    secret = marker("other-key-secret")
    server = server_with_root_secret(tmp_path / "data", secret, tmp_path / "logs").start()
    try:
        create_bucket(server, secret, "a-other-key")
        created = icefloe(
            "warehouse",
            "create",
            "a-other-key",
            "s3://a-other-key",
            "--endpoint",
            server.s3_url,
            "--access-key-id",
            ROOT_KEY_ID,
            "--secret-access-key",
            secret,
            data_dir=server.data_dir,
            env={"ICEFLOE_SECRETS_KEY": new_key()},
        )
        assert created.returncode == 0, created.stdout + created.stderr

        refused = create_table(server, "a-other-key")
        message = assert_error(refused, 503, "ServiceUnavailableException")
        assert "sealed with secrets key" in message
        assert "Traceback" not in refused.text and secret not in refused.text
        made = create_table(server, "default")
        assert made.status_code == 200  # other warehouses work
        # The S3 signer protocol route looks through every warehouse for the URL's table (this
        # one first, by name): one it cannot open is passed over, not a failure for all.
        key = made.json()["metadata"]["location"].removeprefix("s3://default/") + "/data/x"
        signed = httpx.post(
            f"{server.url}/v1/aws/s3/sign",
            json={
                "region": "auto",
                "uri": f"{server.s3_url}/default/{key}",
                "method": "PUT",
                "headers": {},
            },
            headers=server.auth_headers,
        )
        assert signed.status_code == 200, signed.text
    finally:
        server.stop()
