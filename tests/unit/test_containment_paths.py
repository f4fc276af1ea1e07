"""`inside`: whether a path a client wrote into metadata names an object in a table's location,
however it is spelled."""

from __future__ import annotations

import pytest

from catalog.service.containment import inside

TABLE = "s3://bucket/wh/ns/t1"


@pytest.mark.parametrize(
    "path",
    [
        "s3://bucket/wh/ns/t1/metadata/snap-1.avro",
        "s3a://bucket/wh/ns/t1/metadata/snap-1.avro",
        "s3://bucket/wh/ns/t1/data/city=a%20b/x.parquet",
    ],
)
def test_paths_in_the_location_are_inside(path: str) -> None:
    assert inside(path, TABLE)


@pytest.mark.parametrize(
    "path",
    [
        "s3://bucket/wh/ns/t10/metadata/snap-1.avro",  # a sibling sharing a prefix
        "s3://bucket/wh/ns/other/metadata/snap-1.avro",
        "s3://other/wh/ns/t1/metadata/snap-1.avro",
        "s3://bucket/wh/ns/t1",  # the location itself names no file in it
        "s3://bucket/wh/ns/t1/../other/snap-1.avro",
        "s3://bucket/wh/ns/t1/%2e%2e/other/snap-1.avro",
        "s3://bucket/wh/ns/t1/metadata/./snap-1.avro",
        "s3://bucket/wh/ns/t1//snap-1.avro",
        "s3://bucket/wh/ns/t1/snap-1.avro?versionId=1",
        "s3://bucket/wh/ns/t1/snap-1.avro#x",
        "s3://bucket/wh/ns/t1/a\\..\\b",
        "s3://bucket/wh/ns/t1/a\nb",
        "gs://bucket/wh/ns/t1/snap-1.avro",
        "file:///wh/ns/t1/snap-1.avro",
        "/wh/ns/t1/snap-1.avro",
        "",
    ],
)
def test_paths_elsewhere_or_ambiguous_are_not_inside(path: str) -> None:
    assert not inside(path, TABLE)


def test_file_locations_compare_by_path() -> None:
    assert inside("file:/data/wh/t/metadata/x.avro", "file:///data/wh/t")
    assert not inside("file://host/data/wh/t/metadata/x.avro", "file:///data/wh/t")
