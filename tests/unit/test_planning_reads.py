"""How the planner reads and renders manifests: a page's manifests are read at the same time on
the process's pool, a plan of several pages reads ahead into the cache, a manifest is read once
however many threads want it at once, and a data file's JSON is rendered once and kept with its
manifest (its bytes counted against the cache's bound), for the types it was rendered for only.

The tables are real: a SQLite catalog of PyIceberg's own on local files, with manifests written
by PyIceberg's manifest writers; only the FileIO is wrapped, to see the reads happen."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io import InputFile
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.types import LongType, NestedField, StringType

from catalog.planning.cache import ManifestCache
from catalog.planning.render import RenderedFiles
from catalog.planning.scan import ScanPlanner
from tests.planning.files import commit_files, fake_data_file

MANIFESTS = 4
FILES = 5


class WatchedIO(PyArrowFileIO):
    """Local files, with each manifest read (any file but a manifest list, `snap-…`) counted
    and waiting at `barrier` (when set) for the others."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier: threading.Barrier | None = None
        self.manifest_reads = 0
        self._lock = threading.Lock()

    def new_input(self, location: str) -> InputFile:
        if not Path(location.removeprefix("file://")).name.startswith("snap-"):
            with self._lock:
                self.manifest_reads += 1
            if self.barrier is not None:
                self.barrier.wait()
        return super().new_input(location)


@pytest.fixture
def table(tmp_path: Path) -> Table:
    catalog = SqlCatalog(
        "local", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=f"file://{tmp_path}"
    )
    catalog.create_namespace("ns")
    created = catalog.create_table(
        "ns.t",
        Schema(
            NestedField(1, "id", LongType(), required=False),
            NestedField(2, "name", StringType(), required=False),
        ),
    )
    groups = [
        [fake_data_file(created, n, 10 * n, 10 * n + 9) for n in range(m * FILES, (m + 1) * FILES)]
        for m in range(MANIFESTS)
    ]
    return commit_files(created, data_groups=groups)


@pytest.fixture
def readers() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(MANIFESTS)
    yield pool
    pool.shutdown(wait=True)


def planner(
    table: Table, io: WatchedIO, cache: ManifestCache, pool: ThreadPoolExecutor | None
) -> ScanPlanner:
    return ScanPlanner(table.metadata, io, cache, AlwaysTrue(), True, pool)


def test_a_pages_manifests_are_read_at_the_same_time(
    table: Table, readers: ThreadPoolExecutor
) -> None:
    io = WatchedIO()
    scan = planner(table, io, ManifestCache(1 << 30), readers)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    manifests = scan.data_manifests(snapshot)
    assert len(manifests) == MANIFESTS
    # every manifest read waits for all the others: read one after another, this times out
    io.barrier = threading.Barrier(MANIFESTS, timeout=10)
    planned = scan.plan(manifests, [])
    assert len(planned) == MANIFESTS * FILES
    assert [p.data_file.file_path for p in planned] == [
        f"{table.location()}/data/fake-{n:06d}.parquet" for n in range(MANIFESTS * FILES)
    ]


def test_a_plan_reads_its_manifests_ahead_into_the_cache(
    table: Table, readers: ThreadPoolExecutor
) -> None:
    io, cache = WatchedIO(), ManifestCache(1 << 30)
    scan = planner(table, io, cache, readers)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    manifests = scan.data_manifests(snapshot)
    scan.read_ahead(manifests, lambda: False)
    readers.shutdown(wait=True)
    assert all(cache.cached(m.manifest_path) for m in manifests)
    reads = io.manifest_reads
    planner(table, io, cache, None).plan(manifests, [])  # now answered from the cache
    assert io.manifest_reads == reads == MANIFESTS


def test_read_ahead_stops_for_a_cancelled_plan(table: Table, readers: ThreadPoolExecutor) -> None:
    io, cache = WatchedIO(), ManifestCache(1 << 30)
    scan = planner(table, io, cache, readers)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    scan.read_ahead(scan.data_manifests(snapshot), lambda: True)
    readers.shutdown(wait=True)
    assert io.manifest_reads == 0


def test_a_manifest_wanted_by_many_threads_at_once_is_read_once() -> None:
    cache = ManifestCache(1 << 20)
    started, release = threading.Event(), threading.Event()
    loads = 0

    def load() -> tuple[str, ...]:
        nonlocal loads
        loads += 1
        started.set()
        release.wait(10)
        return ("entry",)

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(cache.get, "s3://b/m.avro", 100, load)
        assert started.wait(10)
        others = [pool.submit(cache.get, "s3://b/m.avro", 100, load) for _ in range(3)]
        release.set()
        results = [first.result(10), *(f.result(10) for f in others)]
    assert loads == 1
    assert all(r is results[0] for r in results)


def test_a_failed_read_is_not_cached_and_is_tried_again() -> None:
    cache = ManifestCache(1 << 20)

    def failing() -> tuple[str, ...]:
        raise OSError("unreachable")

    with pytest.raises(OSError, match="unreachable"):
        cache.get("s3://b/m.avro", 100, failing)
    assert not cache.cached("s3://b/m.avro")
    assert cache.get("s3://b/m.avro", 100, lambda: ("entry",)) == ("entry",)


def test_a_data_file_is_rendered_once_and_kept_with_its_manifest(table: Table) -> None:
    cache = ManifestCache(1 << 20)
    file = fake_data_file(table, 7, 70, 79)
    files = RenderedFiles(cache, table.metadata.specs(), table.schema(), ())
    first = orjson.dumps(files.data_file(file, "s3://b/m.avro", 3))
    # a rendering is never made again while it is cached (a manifest never changes): the same
    # entry of the same manifest, passed with another record count, still reads as first made
    changed = fake_data_file(table, 7, 70, 89)
    again = RenderedFiles(cache, table.metadata.specs(), table.schema(), ())
    assert orjson.dumps(again.data_file(changed, "s3://b/m.avro", 3)) == first
    assert orjson.loads(first)["record-count"] == 10
    assert cache.bytes_held > len(first)  # its bytes count against the cache's bound


def test_a_rendering_is_used_only_for_the_fields_and_types_it_was_made_for(table: Table) -> None:
    cache = ManifestCache(1 << 20)
    file = fake_data_file(table, 7, 70, 79)
    plain = RenderedFiles(cache, table.metadata.specs(), table.schema(), ())
    with_stats = RenderedFiles(cache, table.metadata.specs(), table.schema(), (1,))
    assert "lower-bounds" not in orjson.loads(orjson.dumps(plain.data_file(file, "m", 0)))
    bounds = orjson.loads(orjson.dumps(with_stats.data_file(file, "m", 0)))["lower-bounds"]
    assert bounds == {"keys": [1], "values": [70]}


def test_renderings_leave_the_cache_when_they_outgrow_its_bound(table: Table) -> None:
    cache = ManifestCache(2_000)
    files = RenderedFiles(cache, table.metadata.specs(), table.schema(), (1,))
    for position in range(50):
        files.data_file(fake_data_file(table, position, 0, 9), "s3://b/m.avro", position)
    assert cache.bytes_held <= 2_000
