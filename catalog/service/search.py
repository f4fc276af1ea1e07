"""Search over namespace, table, view and function names, column and parameter names,
properties and function docs.

Ranked by the store's index (`catalog.store.search_index`) and filtered by `visible`, which
the API builds from the same authorization decision the listings use: a hit the caller may not
see is dropped before the page is filled, so neither the results nor the page sizes reveal it.
A page token is the position in the ranked results where the next page starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catalog.exceptions import BadRequest
from catalog.service.context import ServiceContext
from catalog.service.paging import decode_token, encode_token
from catalog.service.rendering import dumps
from catalog.store.records import SearchHit
from catalog.store.search_index import terms

Visible = Callable[[SearchHit], bool]
#: Ranked entries read per round while filling a page, and the most rounds one page may take.
_CHUNK = 200
_ROUNDS = 25


def levels_of(hit: SearchHit) -> tuple[str, ...]:
    """The namespace a hit lies in (a namespace: itself)."""
    return (*hit.namespace, hit.name) if hit.kind == "namespace" else hit.namespace


def _matches(words: list[str], text: str) -> bool:
    return _words_found(words, text) > 0


def _words_found(words: list[str], text: str) -> int:
    found = terms(text)
    return sum(any(token.startswith(word) for token in found) for word in words)


def _best_columns(words: list[str], columns: str) -> list[str]:
    """The columns holding the most of the query's words (`coupon code` names
    `coupon_code`, not every column ending in `_code`)."""
    counts = {column: _words_found(words, column) for column in columns.split()}
    best = max(counts.values(), default=0)
    return [column for column, count in counts.items() if best and count == best]


def hit_json(hit: SearchHit, words: list[str]) -> dict[str, Any]:
    """One result: what it is, where, and which of its fields the query's words were found in
    (a function's entry holds parameter names and docs where a table's holds columns and
    properties, and says so)."""
    function = hit.kind == "function"
    matched = [
        field
        for field, text in (
            ("name", hit.name),
            ("namespace", " ".join(hit.namespace)),
            ("parameters" if function else "columns", hit.columns),
            ("doc" if function else "properties", hit.properties),
        )
        if _matches(words, text)
    ]
    item: dict[str, Any] = {"warehouse": hit.warehouse, "kind": hit.kind, "matched": matched}
    if hit.kind == "namespace":
        item["namespace"] = list(levels_of(hit))
    else:
        item["identifier"] = {"namespace": list(hit.namespace), "name": hit.name}
        matching = "matching-parameters" if function else "matching-columns"
        item[matching] = _best_columns(words, hit.columns)
    return item


class SearchService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def search(
        self,
        query: str,
        warehouse: str | None,
        page_token: str | None,
        page_size: int | None,
        visible: Visible,
    ) -> bytes:
        words = terms(query)
        if not words:
            raise BadRequest("Invalid search: q needs at least one letter or digit")
        limits = self._context.limits
        if page_size is not None and not 1 <= page_size <= limits.max_page_size:
            raise BadRequest(
                f"Invalid pageSize {page_size}: must be between 1 and {limits.max_page_size}"
            )
        limit = page_size or limits.default_page_size
        offset = _offset(page_token)
        shown: list[SearchHit] = []
        exhausted = False
        with self._context.store.read() as tx:
            warehouse_id = self._context.warehouse(tx, warehouse).id if warehouse else None
            for _ in range(_ROUNDS):
                hits = tx.search(words, query.strip(), warehouse_id, offset, _CHUNK)
                for hit in hits:
                    offset += 1
                    if visible(hit):
                        shown.append(hit)
                        if len(shown) == limit:
                            break
                if len(shown) == limit:
                    break
                if len(hits) < _CHUNK:
                    exhausted = True
                    break
        token = None if exhausted else encode_token(str(offset))
        return dumps({"results": [hit_json(hit, words) for hit in shown], "next-page-token": token})


def _offset(page_token: str | None) -> int:
    if not page_token:
        return 0
    position = decode_token(page_token)
    if not position.isdigit() or len(position) > 9:
        raise BadRequest("Invalid pageToken")
    return int(position)
