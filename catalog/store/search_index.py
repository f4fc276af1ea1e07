"""The search index: one entry per namespace, table, view and function, written with it.

An entry holds what search looks at: the name, the namespace's levels, the column names of the
current schema (nested fields included) and the properties (keys and values); a function's
entry holds its parameter names where a table's holds columns, and its docs (the function's,
each definition's, each parameter's) where a table's holds properties. The words in them
are indexed by the database itself (migration 0008): SQLite's FTS5, PostgreSQL's full text
search over a `tsvector`. A query's words are matched as prefixes and must all be found (in any
of the fields). A name equal to the query comes first; then the first `RANK_WINDOW` matches are
ranked by `score`, which weighs a name above a namespace above a column above a property.

Entries are written by the same transaction that changes the object (`SqlTransaction`), so a
search never sees a table that a rename, drop or commit has already changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.orm import Session

from catalog.store.models import SearchEntry
from catalog.store.records import SearchHit

SEPARATOR = "\x1f"
MAX_TERMS = 8
_WORD = re.compile(r"[^\W_]+")
_MAX_PROPERTY_VALUE = 256
#: Keys of a commit's `new_parts` after which an entry's text may differ.
INDEXED_PARTS = frozenset({"schemas", "current-schema-id", "properties", "current-version-id"})


def terms(query: str) -> list[str]:
    """The words of a query as the index splits them (letters and digits; `_` separates)."""
    return _WORD.findall(query.lower())[:MAX_TERMS]


def _fields(schema: Mapping[str, Any] | None) -> Iterator[str]:
    """Every field name of a schema, nested ones included."""
    stack: list[Any] = list((schema or {}).get("fields") or [])
    while stack:
        field = stack.pop(0)
        if not isinstance(field, dict):
            continue
        name = field.get("name")
        if isinstance(name, str):
            yield name
        kind = field.get("type")
        if isinstance(kind, dict):
            stack.extend(kind.get("fields") or [])
            for child in ("element", "value", "key"):
                if isinstance(kind.get(child), dict):
                    stack.extend(kind[child].get("fields") or [])


def current_schema(kind: str, document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A table's current schema, or the schema of a view's current version."""
    if kind == "view":
        versions = {v.get("version-id"): v for v in document.get("versions") or []}
        version = versions.get(document.get("current-version-id")) or {}
        schema_id = version.get("schema-id")
    else:
        schema_id = document.get("current-schema-id")
    for schema in document.get("schemas") or []:
        if schema.get("schema-id") == schema_id:
            return dict(schema)
    return None


def indexable(text: str) -> str:
    """`text` as a text column can hold it: PostgreSQL refuses NUL in text (a property key,
    value or column name may carry one; the JSON columns keep it escaped), and no word
    contains one, so it becomes a space."""
    return text.replace("\x00", " ")


def property_text(properties: Mapping[str, Any]) -> str:
    return indexable(
        " ".join(f"{k} {str(v)[:_MAX_PROPERTY_VALUE]}" for k, v in sorted(properties.items()))
    )


def object_text(kind: str, document: Mapping[str, Any]) -> tuple[str, str]:
    """(column names, properties) of a table's or view's metadata document."""
    columns = indexable(" ".join(_fields(current_schema(kind, document))))
    return columns, property_text(document.get("properties") or {})


def namespace_entry(
    entity_id: str, warehouse_id: str, levels: Sequence[str], properties: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "entity_id": entity_id,
        "warehouse_id": warehouse_id,
        "kind": "namespace",
        "namespace": SEPARATOR.join(levels[:-1]),
        "name": levels[-1] if levels else "",
        "columns": "",
        "properties": property_text(properties),
    }


def object_entry(
    entity_id: str,
    warehouse_id: str,
    kind: str,
    levels: Sequence[str],
    name: str,
    document: Mapping[str, Any],
) -> dict[str, Any]:
    """The row of a table or view: `populate` in the benchmarks fills the index with it too."""
    columns, properties = object_text(kind, document)
    return {
        "entity_id": entity_id,
        "warehouse_id": warehouse_id,
        "kind": kind,
        "namespace": SEPARATOR.join(levels),
        "name": name,
        "columns": columns,
        "properties": properties,
    }


def function_entry(
    entity_id: str,
    warehouse_id: str,
    levels: Sequence[str],
    name: str,
    document: Mapping[str, Any],
) -> dict[str, Any]:
    """The row of a function: its parameter names in `columns`, its docs in `properties`
    (the fields weigh the same: a parameter as a column, a doc as a property)."""
    definitions = [d for d in document.get("definitions") or [] if isinstance(d, dict)]
    parameters = [p for d in definitions for p in d.get("parameters") or [] if isinstance(p, dict)]
    names = dict.fromkeys(str(p.get("name")) for p in parameters if p.get("name") is not None)
    docs = [document.get("doc"), *(d.get("doc") for d in definitions)]
    docs += [p.get("doc") for p in parameters]
    return {
        "entity_id": entity_id,
        "warehouse_id": warehouse_id,
        "kind": "function",
        "namespace": SEPARATOR.join(levels),
        "name": name,
        "columns": indexable(" ".join(names)),
        "properties": indexable(" ".join(dict.fromkeys(str(d) for d in docs if d))),
    }


#: How many matches (in index order) are ranked. A word every table has (a common column)
#: matches them all: past the window, matches follow in index (creation) order, so every
#: match is still reached by paging, only not ranked.
RANK_WINDOW = 200
#: What a word found in each field is worth: a name above a namespace above a column above a
#: property.
_WEIGHTS = (10.0, 4.0, 2.0, 1.0)

# CROSS JOIN: SQLite then walks the full-text matches and looks each entry up, never the
# other way round (probing the index once per entry of the warehouse).
_SQLITE_MATCHES = """
SELECT e.id, e.entity_id, w.name AS warehouse, e.kind, e.namespace, e.name, e.columns,
    e.properties
FROM search_fts f CROSS JOIN search_entries e ON e.id = f.rowid
JOIN warehouses w ON w.id = e.warehouse_id
WHERE search_fts MATCH :match {scope}
LIMIT :limit OFFSET :offset
"""
_POSTGRES_MATCHES = """
SELECT e.id, e.entity_id, w.name AS warehouse, e.kind, e.namespace, e.name, e.columns,
    e.properties
FROM search_entries e JOIN warehouses w ON w.id = e.warehouse_id
WHERE e.document @@ to_tsquery('simple', :match) {scope}
ORDER BY e.id
LIMIT :limit OFFSET :offset
"""
_ROWS = """
SELECT e.id, e.entity_id, w.name AS warehouse, e.kind, e.namespace, e.name, e.columns,
    e.properties
FROM search_entries e JOIN warehouses w ON w.id = e.warehouse_id
WHERE e.id IN :ids
"""


def score(words: Sequence[str], row: Any) -> float:
    """How well an entry matches: for each word, the weight of the best field it starts a word
    of (a whole word counts a little more than its start); among equals, the shorter name."""
    fields = (row.name, row.namespace.replace(SEPARATOR, " "), row.columns, row.properties)
    tokens = [terms(text) for text in fields]
    total = 0.0
    for word in words:
        best = 0.0
        for weight, found in zip(_WEIGHTS, tokens, strict=True):
            if word in found:
                best = max(best, weight * 1.25)
            elif any(token.startswith(word) for token in found):
                best = max(best, weight)
        total += best
    return total + 1.0 / (1 + len(row.name))


class SearchIndex:
    """The index's reads and writes, inside the caller's unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def put_namespace(
        self,
        entity_id: str,
        warehouse_id: str,
        levels: Sequence[str],
        properties: Mapping[str, Any],
    ) -> None:
        self._session.execute(
            insert(SearchEntry).values(namespace_entry(entity_id, warehouse_id, levels, properties))
        )

    def put_object(
        self,
        entity_id: str,
        warehouse_id: str,
        kind: str,
        levels: Sequence[str],
        name: str,
        metadata_json: str,
    ) -> None:
        document = orjson.loads(metadata_json)
        row = object_entry(entity_id, warehouse_id, kind, levels, name, document)
        self._session.execute(insert(SearchEntry).values(row))

    def put_function(
        self,
        entity_id: str,
        warehouse_id: str,
        levels: Sequence[str],
        name: str,
        metadata_json: str,
    ) -> None:
        row = function_entry(entity_id, warehouse_id, levels, name, orjson.loads(metadata_json))
        self._session.execute(insert(SearchEntry).values(row))

    def reindex_function(self, entity_id: str, metadata_json: str) -> None:
        row = function_entry(entity_id, "", (), "", orjson.loads(metadata_json))
        self._session.execute(
            update(SearchEntry)
            .where(SearchEntry.entity_id == entity_id)
            .values(columns=row["columns"], properties=row["properties"])
            .execution_options(synchronize_session=False)
        )

    def set_properties(self, entity_id: str, properties: Mapping[str, Any]) -> None:
        self._session.execute(
            update(SearchEntry)
            .where(SearchEntry.entity_id == entity_id)
            .values(properties=property_text(properties))
        )

    def reindex_object(self, entity_id: str, kind: str, metadata_json: str) -> None:
        columns, properties = object_text(kind, orjson.loads(metadata_json))
        self._session.execute(
            update(SearchEntry)
            .where(SearchEntry.entity_id == entity_id)
            .values(columns=columns, properties=properties)
            .execution_options(synchronize_session=False)
        )

    def move(self, entity_id: str, levels: Sequence[str], name: str) -> None:
        self._session.execute(
            update(SearchEntry)
            .where(SearchEntry.entity_id == entity_id)
            .values(namespace=SEPARATOR.join(levels), name=name)
        )

    def remove(self, entity_id: str) -> None:
        self._session.execute(delete(SearchEntry).where(SearchEntry.entity_id == entity_id))

    def search(
        self,
        words: Sequence[str],
        exact: str,
        warehouse_id: str | None,
        offset: int,
        limit: int,
    ) -> list[SearchHit]:
        """Entries holding every word (as a prefix): first those named exactly `exact`, then
        the first `RANK_WINDOW` matches best first, then the rest in index order.

        The window is ranked here from the entries' own text rather than by the database's
        BM25, which reads the statistics of every match first (60 ms for a word all of
        100,000 tables have, against a few for the window)."""
        if not words:
            return []
        sqlite = self._session.get_bind().dialect.name == "sqlite"
        match = (
            " ".join(f'"{word}"*' for word in words)
            if sqlite
            else " & ".join(f"{word}:*" for word in words)
        )
        scope = "AND e.warehouse_id = :warehouse" if warehouse_id is not None else ""

        def matches(skip: Sequence[int], count: int, start: int) -> list[Any]:
            where = scope + (" AND e.id NOT IN :skip" if skip else "")
            template = _SQLITE_MATCHES if sqlite else _POSTGRES_MATCHES
            statement = text(template.format(scope=where))
            params: dict[str, Any] = {"match": match, "limit": count, "offset": start}
            if warehouse_id is not None:
                params["warehouse"] = warehouse_id
            if skip:
                statement = statement.bindparams(bindparam("skip", expanding=True))
                params["skip"] = list(skip)
            return list(self._session.execute(statement, params))

        named = select(SearchEntry.id).where(SearchEntry.name == exact)
        if warehouse_id is not None:
            named = named.where(SearchEntry.warehouse_id == warehouse_id)
        window = matches((), RANK_WINDOW, 0)
        by_id = {row.id: row for row in window}
        # An entry named `exact` is a hit only if it holds the words (`exact` may be "a b").
        first = [
            i
            for i in self._session.scalars(named.order_by(SearchEntry.id))
            if i in by_id or self._matches(match, i, sqlite)
        ]
        exact_ids = set(first)
        ranked = sorted(window, key=lambda row: (-score(words, row), row.id))
        ordered = first + [row.id for row in ranked if row.id not in exact_ids]
        rows = {**by_id, **{row.id: row for row in self._rows(first) if row.id not in by_id}}
        page = [rows[i] for i in ordered[offset : offset + limit]]
        if len(page) < limit and len(window) == RANK_WINDOW:
            start = RANK_WINDOW - len(exact_ids & by_id.keys()) + max(0, offset - len(ordered))
            page += matches(sorted(exact_ids), limit - len(page), start)
        return [_hit(row) for row in page]

    def _matches(self, match: str, entry_id: int, sqlite: bool) -> bool:
        if sqlite:
            query = "SELECT 1 FROM search_fts WHERE search_fts MATCH :match AND rowid = :id"
        else:
            query = (
                "SELECT 1 FROM search_entries WHERE id = :id "
                "AND document @@ to_tsquery('simple', :match)"
            )
        found = self._session.execute(text(query), {"match": match, "id": entry_id}).first()
        return found is not None

    def _rows(self, ids: list[int]) -> list[Any]:
        if not ids:
            return []
        statement = text(_ROWS).bindparams(bindparam("ids", expanding=True))
        return list(self._session.execute(statement, {"ids": ids}))


def _hit(row: Any) -> SearchHit:
    return SearchHit(
        row.entity_id,
        row.warehouse,
        row.kind,
        tuple(row.namespace.split(SEPARATOR)) if row.namespace else (),
        row.name,
        row.columns,
        row.properties,
    )
