"""The spec's JSON filter expressions, read and bound with pyiceberg's own classes.

pyiceberg 0.12 serializes its expressions in the spec's JSON form (that is what its client
sends), and its `BooleanExpression` validator reads that form back; binding against the scan's
schema is pyiceberg's `bind`. Only the mapping of their errors to a 400 is ours.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.expressions.visitors import bind
from pyiceberg.schema import Schema

from catalog.exceptions import BadRequest

_EXPRESSION = TypeAdapter(BooleanExpression)


def parse_filter(document: Any) -> BooleanExpression:
    """An unbound expression from the request's `filter` (None: every row)."""
    if document is None:
        return AlwaysTrue()
    try:
        return _EXPRESSION.validate_python(document)
    except (ValidationError, ValueError, TypeError) as error:
        raise BadRequest(f"Invalid filter expression: {_first_line(error)}") from error


def check_bindable(expression: BooleanExpression, schema: Schema, case_sensitive: bool) -> None:
    """Refuse, as a 400, a filter naming an unknown column or a literal of the wrong type."""
    try:
        bind(schema, expression, case_sensitive)
    except (ValueError, TypeError, ArithmeticError) as error:
        raise BadRequest(f"Invalid filter expression: {_first_line(error)}") from error


def filter_document(expression: BooleanExpression) -> Any:
    """The JSON form of an unbound expression (what plan tokens carry)."""
    return _EXPRESSION.dump_python(expression, mode="json", by_alias=True, serialize_as_any=True)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
