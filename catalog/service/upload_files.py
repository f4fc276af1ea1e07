"""What an uploaded file holds, and whether it may join a table without losing anything.

Parquet declares its types, so a column is accepted when Iceberg's own promotion rules allow
its type to become the table's (int to long, float to double, a wider decimal), never the
other way. CSV declares nothing: pyarrow infers a type per column, and a column is accepted
when every value survives the cast to the table's type and back unchanged. Either way a
column must be named exactly as in the table (case-sensitive), every required column must be
there and hold no nulls, and each refusal names the column and both types.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv
from pyarrow import parquet as pq
from pyiceberg.exceptions import ResolveError
from pyiceberg.io.pyarrow import _ConvertToIcebergWithoutIDs, schema_to_pyarrow, visit_pyarrow
from pyiceberg.schema import Schema, assign_fresh_schema_ids, promote
from pyiceberg.types import IcebergType, NestedField, PrimitiveType

from catalog.exceptions import BadRequest
from catalog.service.upload_slots import CSV


def read_file(data: bytes, content_type: str) -> pa.Table:
    """The file's rows; 400 when it is not the format its slot said."""
    try:
        if content_type == CSV:
            options = pacsv.ConvertOptions(strings_can_be_null=True)  # empty: no value
            return pacsv.read_csv(io.BytesIO(data), convert_options=options)
        return pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, ValueError, OSError) as error:
        kind = "CSV" if content_type == CSV else "Parquet"
        raise BadRequest(f"The file is not readable as {kind}: {error}") from error


def _iceberg_type(field: pa.Field) -> IcebergType:
    schema = visit_pyarrow(pa.schema([field]), _ConvertToIcebergWithoutIDs())
    if not isinstance(schema, Schema):
        raise TypeError(f"not a schema: {schema}")
    return schema.fields[0].field_type


def _lossless(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray | None:
    """`column` as `target` when every value comes back unchanged, else None."""
    texts = (pa.types.is_string, pa.types.is_large_string)
    if any(f(column.type) for f in texts) and not any(f(target) for f in texts):
        return None
    try:
        cast = pc.cast(column, target, safe=True)
        back = pc.cast(cast, column.type, safe=True)
    except (pa.ArrowException, ValueError):
        return None
    return cast if back.equals(column) else None


def fit_to_schema(data: pa.Table, schema: Schema, *, from_csv: bool) -> pa.Table:
    """`data` with the table's columns, order and types, or 400 listing every problem."""
    problems: list[str] = []
    known = {field.name for field in schema.fields}
    problems += [
        f"column `{name}` is not in the table" for name in data.column_names if name not in known
    ]
    if len(set(data.column_names)) != len(data.column_names):
        problems.append("the file names a column twice")
    target = schema_to_pyarrow(schema, include_field_ids=False)
    columns: list[pa.ChunkedArray] = []
    for field, arrow_field in zip(schema.fields, target, strict=True):
        fitted = _fit_column(data, field, arrow_field, from_csv, problems)
        if fitted is not None:
            columns.append(fitted)
    if problems:
        raise BadRequest("The file does not fit the table: " + "; ".join(problems))
    return pa.Table.from_arrays(columns, schema=target)


def _fit_column(
    data: pa.Table,
    field: NestedField,
    arrow_field: pa.Field,
    from_csv: bool,
    problems: list[str],
) -> pa.ChunkedArray | None:
    if field.name not in data.column_names:
        if field.required:
            problems.append(f"required column `{field.name}` is missing")
            return None
        return pa.chunked_array([pa.nulls(data.num_rows, arrow_field.type)])
    column = data.column(field.name)
    if field.required and column.null_count:
        problems.append(f"column `{field.name}` is required but has {column.null_count} nulls")
        return None
    if column.type == arrow_field.type:
        return column
    if from_csv or pa.types.is_null(column.type):
        fitted = _lossless(column, arrow_field.type)
        if fitted is None:
            problems.append(
                f"column `{field.name}`: {column.type} cannot become {field.field_type}"
            )
        return fitted
    try:
        file_type = _iceberg_type(data.schema.field(field.name))
        if not isinstance(field.field_type, PrimitiveType) or (
            file_type != field.field_type and promote(file_type, field.field_type) is None
        ):
            raise ResolveError("not promotable")
    except (ResolveError, TypeError, ValueError):
        problems.append(f"column `{field.name}`: {column.type} cannot become {field.field_type}")
        return None
    return pc.cast(column, arrow_field.type, safe=True)


def infer_schema(data: pa.Table) -> tuple[Schema, pa.Table]:
    """An Iceberg schema for a new table from the file's columns (an all-empty CSV column
    becomes an optional string), and the rows in that schema's arrow form."""
    columns = [
        pc.cast(column, pa.string()) if pa.types.is_null(column.type) else column
        for column in data.columns
    ]
    data = pa.Table.from_arrays(columns, names=data.column_names)
    if len(set(data.column_names)) != len(data.column_names):
        raise BadRequest("The file names a column twice")
    try:
        converted = visit_pyarrow(data.schema, _ConvertToIcebergWithoutIDs())
    except (TypeError, ValueError) as error:
        raise BadRequest(f"The file has a column type Iceberg cannot hold: {error}") from error
    if not isinstance(converted, Schema):
        raise BadRequest("The file has no columns")
    schema = assign_fresh_schema_ids(converted)
    return schema, fit_to_schema(data, schema, from_csv=False)
