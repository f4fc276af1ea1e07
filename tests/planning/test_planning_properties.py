"""Property: for generated tables and generated filters, the files (and their delete files)
the server plans are exactly those pyiceberg's own `plan_files()` plans for the same scan."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.expressions import (
    And,
    BooleanExpression,
    EqualTo,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Not,
    NotEqualTo,
    NotIn,
    NotNull,
    NotStartsWith,
    Or,
    StartsWith,
)
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform

from tests.planning.test_server_planning import ARROW, SCHEMA, plan

CITIES = ["Oslo", "Lima", "Pune", "Kyiv", "Quito"]
DAY0 = date(2024, 1, 1)
SPECS = {
    "none": UNPARTITIONED_PARTITION_SPEC,
    "identity-city": PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "city")),
    "day": PartitionSpec(PartitionField(3, 1000, DayTransform(), "day_day")),
    "bucket-id": PartitionSpec(PartitionField(1, 1000, BucketTransform(4), "id_bucket")),
}

ids = st.integers(min_value=-50, max_value=50)
cities = st.sampled_from(CITIES)
days = st.integers(min_value=0, max_value=6).map(lambda n: DAY0 + timedelta(days=n))


def leaf() -> st.SearchStrategy[BooleanExpression]:
    compare = st.sampled_from(
        [EqualTo, NotEqualTo, LessThan, LessThanOrEqual, GreaterThan, GreaterThanOrEqual]
    )
    return st.one_of(
        st.builds(lambda op, v: op("id", v), compare, ids),
        st.builds(lambda op, v: op("day", v), compare, days),
        st.builds(lambda op, v: op("city", v), compare, cities),
        st.builds(lambda vs: In("id", vs), st.lists(ids, min_size=1, max_size=4)),
        st.builds(lambda vs: NotIn("city", vs), st.lists(cities, min_size=1, max_size=3)),
        st.builds(lambda p: StartsWith("city", p), st.sampled_from(["O", "L", "Pu", "x"])),
        st.builds(lambda p: NotStartsWith("city", p), st.sampled_from(["O", "K"])),
        st.sampled_from([IsNull("id"), NotNull("day")]),
    )


filters = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)
    ),
    max_leaves=4,
)
batches = st.lists(
    st.lists(st.tuples(ids, cities, days), min_size=1, max_size=6), min_size=1, max_size=4
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    spec=st.sampled_from(sorted(SPECS)),
    data=batches,
    row_filters=st.lists(filters, min_size=6, max_size=6),
)
def test_server_plans_the_files_pyiceberg_plans(
    server_planned: RestCatalog,
    client_planned: RestCatalog,
    space: str,
    spec: str,
    data: list[list[tuple[int, str, date]]],
    row_filters: list[BooleanExpression],
) -> None:
    identifier = f"{space}.g{uuid.uuid4().hex[:8]}"
    table = client_planned.create_table(identifier, schema=SCHEMA, partition_spec=SPECS[spec])
    for rows in data:
        table.append(
            pa.table(
                {
                    "id": pa.array([r[0] for r in rows], pa.int64()),
                    "city": [r[1] for r in rows],
                    "day": [r[2] for r in rows],
                },
                schema=ARROW,
            )
        )
    for row_filter in row_filters:
        assert plan(server_planned, identifier, row_filter=row_filter) == plan(
            client_planned, identifier, row_filter=row_filter
        ), row_filter
