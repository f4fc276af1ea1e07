"""What a long history costs: loadTable size and latency, and commit latency, as a table's
snapshots grow from 10 to 10,000 (nothing expired, as with a streaming writer and no
maintenance).

The catalog keeps each table's whole metadata document: loadTable returns it, and every
commit parses it, applies the change and writes it all again. Tables with N snapshots are
made by writing a realistic N-snapshot metadata file (`metadata.add_history`) and registering
it through the REST API. Figures are compared with the smallest history (how cost grows) and,
for commits, with the raw floor at the same size (one file write + one compare-and-swap of
that document, `rawcommit.py`): what grows faster than the floor is the catalog's own work.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from catalog.settings import Settings
from storage.io import LocalObjectStore
from tests.benchmarks.commitload import CommitSpec, WriterSpec, run_commits
from tests.benchmarks.loadgen import LoadSpec, Request, run_load
from tests.benchmarks.metadata import add_history, checked_text, new_document
from tests.benchmarks.rawcommit import run_raw
from tests.benchmarks.report import Column, Row, SuiteResult, ratio
from tests.benchmarks.servers import auth_headers, catalog_client, catalog_servers, pid_of
from tests.benchmarks.workspace import Workspace

NAMESPACE = "bench"


@dataclass(frozen=True)
class Plan:
    snapshots: tuple[int, ...]
    load_seconds: float
    commits: int


FULL = Plan((10, 1_000, 10_000), load_seconds=4.0, commits=30)
QUICK = Plan((10, 1_000), load_seconds=1.5, commits=10)

COLUMNS = [
    Column("snapshots", "snapshots", "int"),
    Column("body", "loadTable body", "bytes"),
    Column("load_p50", "load p50 ms", "ms"),
    Column("load_p99", "load p99 ms", "ms"),
    Column("load_growth", "load ÷ first", "ratio"),
    Column("refs_body", "refs body", "bytes"),
    Column("refs_p50", "refs p50 ms", "ms"),
    Column("commit_p50", "commit p50 ms", "ms"),
    Column("commit_p99", "commit p99 ms", "ms"),
    Column("commit_growth", "commit ÷ first", "ratio"),
    Column("raw_p50", "raw p50 ms", "ms"),
    Column("commit_vs_raw", "commit p50 ÷ raw p50", "ratio"),
]


def register(client: Any, name: str, text: str, location: str) -> dict[str, Any]:
    """Write `text` as the table's metadata file, then registerTable it."""
    metadata_location = f"{location}/metadata/00000-{uuid.uuid4()}.metadata.json"
    LocalObjectStore().write_new(metadata_location, text.encode("utf-8"))
    response = client.post(
        f"/namespaces/{NAMESPACE}/register",
        json={"name": name, "metadata-location": metadata_location},
    )
    response.raise_for_status()
    metadata: dict[str, Any] = response.json()["metadata"]
    return metadata


def run(workspace: Workspace) -> SuiteResult:
    plan = QUICK if workspace.quick else FULL
    result = SuiteResult(
        "metadata_growth", "loadTable and commits as snapshots accumulate", COLUMNS
    )
    data_dir = workspace.directory("growth")
    with catalog_servers(data_dir, None) as [server], catalog_client(server) as client:
        headers = auth_headers(data_dir)
        target = [("127.0.0.1", server.port)]
        client.post("/namespaces", json={"namespace": [NAMESPACE]}).raise_for_status()
        warehouse_location = Settings(data_dir=data_dir).default_warehouse_location
        first: Row | None = None
        for count in plan.snapshots:
            texts = {}
            for name in (f"s{count}", f"s{count}_raw"):
                location = f"{warehouse_location}/{NAMESPACE}/{name}-{uuid.uuid4().hex}"
                texts[name] = checked_text(add_history(new_document(location, uuid.uuid4()), count))
                register(client, name, texts[name], location)
            path = f"/v1/default/namespaces/{NAMESPACE}/tables/s{count}"
            loads = run_load(
                LoadSpec(target, [Request(path, headers=headers)], 1, plan.load_seconds, 0.5),
                [pid_of(server)],
            )
            refs = run_load(
                LoadSpec(
                    target,
                    [Request(f"{path}?snapshots=refs", headers=headers)],
                    1,
                    plan.load_seconds,
                    0.5,
                )
            )
            metadata = orjson.loads(client.get(path[len("/v1/default") :]).content)["metadata"]
            commits = run_commits(
                CommitSpec(
                    [WriterSpec(target[0], NAMESPACE, f"s{count}", metadata)],
                    headers,
                    plan.commits,
                    600,
                ),
                [pid_of(server)],
            )
            raw = run_raw(
                f"sqlite:///{data_dir / 'catalog.db'}", NAMESPACE, [f"s{count}_raw"], plan.commits
            )
            row: Row = {
                "snapshots": count,
                "metadata_bytes": len(texts[f"s{count}"]),
                "body": loads.mean_body_bytes,
                "load_p50": loads.latency.p50,
                "load_p99": loads.latency.p99,
                "load_rate": loads.rate,
                "refs_body": refs.mean_body_bytes,
                "refs_p50": refs.latency.p50,
                "commit_p50": commits.append.p50,
                "commit_p99": commits.append.p99,
                "raw_p50": raw.append.p50,
                "commit_vs_raw": ratio(commits.append.p50, raw.append.p50),
                "errors": loads.unexpected + loads.errors + refs.unexpected + commits.errors,
                "load": loads.to_json(),
                "refs": refs.to_json(),
                "commit": commits.to_json(),
                "raw": raw.to_json(),
            }
            first = first or row
            row["load_growth"] = ratio(row["load_p50"], first["load_p50"])
            row["commit_growth"] = ratio(row["commit_p50"], first["commit_p50"])
            result.rows.append(row)
    result.notes += [
        "one client, one request at a time (latency, not throughput); loadTable for "
        f"{plan.load_seconds:g} s after a 0.5 s warm-up; {plan.commits} appends per size, each "
        "an updateTable add-snapshot + set-snapshot-ref from a separate process",
        "refs: loadTable?snapshots=refs (only the snapshots a branch or tag points at)",
        "raw: the same number of appends to a twin table, as one file write (fsync) + one "
        "compare-and-swap in-process, with no parsing (SQLite, the catalog's database)",
        "metadata: format v2, 13 columns, day partition, the metadata log capped at 100 "
        "entries (pyiceberg's default), no snapshot expired",
    ]
    return result
