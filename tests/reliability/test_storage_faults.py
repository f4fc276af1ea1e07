"""Commits through an object store that fails, stalls, resets and truncates a share of requests.

A warehouse's storage endpoint is a fault-injecting proxy (`tests/support/fault_proxy.py`) in
front of the embedded store. Writers commit chained changes (see `chain.py`) while the proxy
breaks a seeded 30% of requests. Every commit must either succeed, with its metadata file whole
in the store, or fail with 503 ServiceUnavailableException and leave the table as it was —
never CommitStateUnknown (a storage failure happens before the pointer moves, so the outcome
is known). Afterwards every table's pointer names a complete, parseable file in the store
(read directly, not through the proxy) that holds exactly the acknowledged commits.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx

from tests.reliability.chain import LONG, LONG_TIMEOUT, Metadata, chain, change, create_table, load
from tests.support.error_model import assert_error
from tests.support.fault_proxy import FaultProxy
from tests.support.server import CatalogServer

ROOT_KEY = "RELIABILITYROOTKEY01"
ROOT_SECRET = "reliability-root-secret-0123456789abcdef"
BUCKET = "faulty"
WRITERS = 4
COMMITS = 100 if LONG else 8
FAULT_RATE = 0.3

pytestmark = LONG_TIMEOUT


def read_object(s3: Any, location: str) -> Metadata:
    parts = urlsplit(location)
    body = s3.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))["Body"].read()
    metadata: Metadata = json.loads(body)
    return metadata


def test_storage_faults_fail_commits_cleanly_and_never_leave_a_dangling_pointer(
    tmp_path: Path,
) -> None:
    env = {
        "ICEFLOE_S3_ROOT_ACCESS_KEY_ID": ROOT_KEY,
        "ICEFLOE_S3_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET,
    }
    server = CatalogServer(tmp_path / "data", env=env, storage="embedded").start()
    proxy = FaultProxy(server.s3_port, seed=8).start()
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=server.s3_url,
            aws_access_key_id=ROOT_KEY,
            aws_secret_access_key=ROOT_SECRET,
            region_name="auto",
        )
        s3.create_bucket(Bucket=BUCKET)
        admin = httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=60)
        created = admin.post(
            "/admin/v1/warehouses",
            json={
                "name": "faulty",
                "location": f"s3://{BUCKET}/warehouse",
                "storage": {
                    "type": "s3",
                    "endpoint": proxy.url,
                    "region": "auto",
                    "path-style-access": True,
                    "access-key-id": ROOT_KEY,
                    "secret-access-key": ROOT_SECRET,
                },
            },
        )
        assert created.status_code == 201, created.text
        http = httpx.Client(
            base_url=f"{server.url}/v1/faulty", headers=server.auth_headers, timeout=120
        )
        namespace = f"faults_{uuid.uuid4().hex[:8]}"
        assert http.post("/namespaces", json={"namespace": [namespace]}).status_code == 200
        tables = [f"t{i}" for i in range(WRITERS)]
        root_io = {
            "s3.endpoint": server.s3_url,
            "s3.access-key-id": ROOT_KEY,
            "s3.secret-access-key": ROOT_SECRET,
            "s3.region": "auto",
        }
        for name in tables:
            create_table(http, namespace, name, root_io)

        outcomes: Counter[str] = Counter()
        acked = dict.fromkeys(tables, 0)
        failures: list[str] = []
        lock = threading.Lock()

        def writer(name: str) -> None:
            metadata = load(http, namespace, name)[1]
            attempts = 0
            while acked[name] < COMMITS and attempts < COMMITS * 4:
                attempts += 1
                n = acked[name] + 1
                response = http.post(
                    f"/namespaces/{namespace}/tables/{name}",
                    json=change(metadata, n, {"seq": str(n)}),
                )
                with lock:
                    outcomes[str(response.status_code)] += 1
                if response.status_code == 200:
                    body = response.json()
                    stored = read_object(s3, body["metadata-location"])
                    if chain(stored) != list(range(1, n + 1)) or stored != body["metadata"]:
                        failures.append(f"{name}: file at {body['metadata-location']} differs")
                    metadata, acked[name] = body["metadata"], n
                elif response.status_code == 503:
                    assert_error(response, 503, "ServiceUnavailableException")
                    if chain(load(http, namespace, name)[1]) != list(range(1, n)):
                        failures.append(f"{name}: a refused commit {n} changed the table")
                else:
                    failures.append(f"{name} commit {n}: {response.status_code} {response.text}")
                    return

        proxy.rate = FAULT_RATE
        threads = [threading.Thread(target=writer, args=(name,)) for name in tables]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=6000 if LONG else 600)
        assert not any(thread.is_alive() for thread in threads), "a commit hung"
        proxy.rate = 0.0

        assert failures == []
        for name in tables:
            location, metadata = load(http, namespace, name)
            stored = read_object(s3, location)
            assert stored == metadata
            assert chain(stored) == list(range(1, acked[name] + 1))
        injected = sum(proxy.injected.values())
        print(
            f"\nstorage faults: {proxy.requests} store requests, {injected} faults injected "
            f"{dict(proxy.injected)}; commit outcomes {dict(outcomes)}; acked {acked}"
        )
        assert injected > 0 and outcomes["200"] > 0
        assert set(outcomes) <= {"200", "503"}
    finally:
        proxy.stop()
        server.stop()
