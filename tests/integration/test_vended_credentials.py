"""Vended credentials on the embedded store: clients with no storage keys of their own read
and write their table, and nothing else."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import httpx
import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog

from tests.support.server import CatalogServer
from tests.support.vended import denied, s3_client

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
VENDED = {"X-Iceberg-Access-Delegation": "vended-credentials"}


def admin(server: CatalogServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30)


def token(server: CatalogServer, permission: str, warehouse: str = "default") -> str:
    with admin(server) as http:
        body = {"name": permission, "permission": permission, "warehouses": [warehouse]}
        issued: str = http.post("/admin/v1/tokens", json=body).json()["token"]
    return issued


def credentials(
    server: CatalogServer, ns: str, table: str, bearer: str | None = None
) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {bearer or server.token}"}
    response = httpx.get(
        f"{server.url}/v1/default/namespaces/{ns}/tables/{table}/credentials", headers=headers
    )
    assert response.status_code == 200, response.text
    entries = response.json()["storage-credentials"]
    assert len(entries) == 1
    config: dict[str, str] = entries[0]["config"]
    return config


def bucket_and_key(location: str) -> tuple[str, str]:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return bucket, key


def test_config_asks_clients_for_vended_credentials(embedded_server: CatalogServer) -> None:
    config = httpx.get(f"{embedded_server.url}/v1/config", headers=embedded_server.auth_headers)
    assert config.json()["defaults"]["header.X-Iceberg-Access-Delegation"] == "vended-credentials"


def test_pyiceberg_without_storage_keys_writes_and_reads(pyiceberg: RestCatalog, ns: str) -> None:
    table = pyiceberg.create_table(f"{ns}.t", schema=ROWS.schema)
    assert table.location().startswith("s3://default/")
    table.append(ROWS)
    reloaded = pyiceberg.load_table(f"{ns}.t")
    assert reloaded.scan().to_arrow().num_rows == 3
    assert reloaded.io.properties["s3.session-token"]


def test_without_the_header_no_secret_is_returned(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    pyiceberg.create_table(f"{ns}.t", schema=ROWS.schema)
    plain = httpx.get(
        f"{embedded_server.url}/v1/default/namespaces/{ns}/tables/t",
        headers=embedded_server.auth_headers,
    ).json()
    assert "storage-credentials" not in plain
    assert not any("secret" in key or "token" in key for key in plain["config"])
    vended = httpx.get(
        f"{embedded_server.url}/v1/default/namespaces/{ns}/tables/t",
        headers={**embedded_server.auth_headers, **VENDED},
    ).json()
    entry = vended["storage-credentials"][0]
    assert entry["prefix"].endswith("/")
    assert entry["prefix"] == vended["metadata"]["location"] + "/"
    assert vended["config"]["s3.session-token"] == entry["config"]["s3.session-token"]


def test_credentials_for_one_table_reach_nothing_else(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    one = pyiceberg.create_table(
        f"{ns}.tbl1", schema=ROWS.schema, location=f"s3://default/{ns}/tbl1"
    )
    ten = pyiceberg.create_table(
        f"{ns}.tbl10", schema=ROWS.schema, location=f"s3://default/{ns}/tbl10"
    )
    one.append(ROWS)
    ten.append(ROWS)
    s3 = s3_client(credentials(embedded_server, ns, "tbl1"))
    bucket, own = bucket_and_key(one.location())
    _, sibling = bucket_and_key(ten.location())
    sibling_file = next(
        item["Key"]
        for item in boto3.client(
            "s3",
            endpoint_url=embedded_server.s3_url,
            **root_keys(embedded_server),
            region_name="auto",
        ).list_objects_v2(Bucket=bucket, Prefix=sibling + "/")["Contents"]
    )

    assert s3.list_objects_v2(Bucket=bucket, Prefix=own + "/")["KeyCount"] > 0
    s3.put_object(Bucket=bucket, Key=f"{own}/data/extra.bin", Body=b"ok")
    assert denied(lambda: s3.get_object(Bucket=bucket, Key=sibling_file))
    assert denied(lambda: s3.list_objects_v2(Bucket=bucket, Prefix=sibling + "/"))
    assert denied(lambda: s3.list_objects_v2(Bucket=bucket, Prefix=own))  # "tbl1" also covers tbl10
    assert denied(lambda: s3.list_objects_v2(Bucket=bucket))
    assert denied(lambda: s3.put_object(Bucket=bucket, Key=f"{sibling}/data/evil.bin", Body=b"x"))
    assert denied(lambda: s3.delete_object(Bucket=bucket, Key=sibling_file))
    assert denied(lambda: s3.put_object(Bucket=bucket, Key="root.bin", Body=b"x"))
    assert pyiceberg.load_table(f"{ns}.tbl10").scan().to_arrow().num_rows == 3


def test_read_only_callers_get_read_only_credentials(
    embedded_server: CatalogServer, pyiceberg: RestCatalog, ns: str
) -> None:
    table = pyiceberg.create_table(f"{ns}.t", schema=ROWS.schema)
    table.append(ROWS)
    reader = token(embedded_server, "read-only")
    s3 = s3_client(credentials(embedded_server, ns, "t", reader))
    bucket, key = bucket_and_key(table.location())
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=key + "/")
    first = listing["Contents"][0]["Key"]
    assert s3.get_object(Bucket=bucket, Key=first)["Body"].read()
    assert denied(lambda: s3.put_object(Bucket=bucket, Key=f"{key}/data/x.bin", Body=b"x"))
    assert denied(lambda: s3.delete_object(Bucket=bucket, Key=first))


def test_expired_credentials_are_refused(embedded_server: CatalogServer) -> None:
    with admin(embedded_server) as http:
        name = f"short{uuid.uuid4().hex[:6]}"
        created = http.post(
            "/admin/v1/warehouses",
            json={
                "name": name,
                "location": f"s3://{name}",
                "storage": {"type": "embedded"},
                "properties": {"credentials.ttl-seconds": "2"},
            },
        )
        assert created.status_code == 201, created.text
        http.post(f"/v1/{name}/namespaces", json={"namespace": ["n"]})
        http.post(
            f"/v1/{name}/namespaces/n/tables",
            json={"name": "t", "schema": {"type": "struct", "fields": []}},
        )
        entry = http.get(f"/v1/{name}/namespaces/n/tables/t/credentials").json()[
            "storage-credentials"
        ][0]
    s3 = s3_client(entry["config"])
    _, prefix = bucket_and_key(entry["prefix"])
    assert s3.list_objects_v2(Bucket=name, Prefix=prefix)["KeyCount"] >= 1
    time.sleep(3)
    assert denied(lambda: s3.list_objects_v2(Bucket=name, Prefix=prefix))


def root_keys(server: CatalogServer) -> dict[str, str]:
    keys = json.loads((server.data_dir / "objects" / "root-credentials.json").read_text())
    return {
        "aws_access_key_id": keys["access_key_id"],
        "aws_secret_access_key": keys["secret_access_key"],
    }


def loaded_credential(
    server: CatalogServer, path: str, bearer: str | None = None
) -> dict[str, str]:
    headers = {**VENDED, "Authorization": f"Bearer {bearer or server.token}"}
    response = httpx.get(f"{server.url}{path}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    entries = response.json()["storage-credentials"]
    assert len(entries) == 1
    config: dict[str, str] = entries[0]["config"]
    assert response.json()["config"] == config
    return config


def test_loads_reuse_a_credential_for_a_quarter_of_its_lifetime_per_access_level(
    embedded_server: CatalogServer,
) -> None:
    """catalog.service.tables.VENDED_REUSE_FRACTION: a load hands out the credential an earlier
    load got while three quarters of its lifetime remain; a reader never gets a writer's."""
    with admin(embedded_server) as http:
        name = f"reuse{uuid.uuid4().hex[:6]}"
        created = http.post(
            "/admin/v1/warehouses",
            json={
                "name": name,
                "location": f"s3://{name}",
                "storage": {"type": "embedded"},
                "properties": {"credentials.ttl-seconds": "16"},
            },
        )
        assert created.status_code == 201, created.text
        assert http.post(f"/v1/{name}/namespaces", json={"namespace": ["n"]}).status_code == 200
        for table in ("t", "u"):
            made = http.post(
                f"/v1/{name}/namespaces/n/tables",
                json={"name": table, "schema": {"type": "struct", "fields": []}},
            )
            assert made.status_code == 200, made.text
    path = f"/v1/{name}/namespaces/n/tables/t"
    first = loaded_credential(embedded_server, path)
    again = loaded_credential(embedded_server, path)
    reader = loaded_credential(embedded_server, path, token(embedded_server, "read-only", name))
    other_table = loaded_credential(embedded_server, f"/v1/{name}/namespaces/n/tables/u")
    key = "s3.access-key-id"
    assert again[key] == first[key], "a second load within the window vends again"
    assert reader[key] != first[key], "a reader got the writer's credential"
    assert other_table[key] != first[key]
    time.sleep(4.5)  # past a quarter of the 16 s lifetime
    renewed = loaded_credential(embedded_server, path)
    assert renewed[key] != first[key]
    expires = int(renewed["s3.session-token-expires-at-ms"]) / 1000
    assert expires - time.time() > 16 * 0.75 - 1
