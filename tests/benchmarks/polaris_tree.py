"""The tree dataset of Apache Polaris' benchmarks, made through our REST API.

Polaris' Gatling benchmarks (apache/polaris-tools, `benchmarks/`) run against a dataset shaped
as an N-ary tree of namespaces: every namespace has `width` children down to `depth` levels
(the root counts as one), the leaves hold `tables_per_leaf` tables and `views_per_leaf` views,
and every namespace, table and view carries a fixed number of properties. This module describes
such a tree (ordinals in breadth-first order, as theirs) and creates it through the catalog's
REST API with a concurrent client: namespaces level by level (a child needs its parent), then
tables and views, each with its own number of requests in flight. It reports how fast each kind
was created. The names, schemas and properties are ours; only the shape is theirs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from tests.benchmarks.stats import Latency

UNIT_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Tree:
    """Sizes of the dataset. Polaris' defaults: width 2, depth 4, 5 tables and 3 views per leaf,
    10 columns and 10 properties everywhere."""

    width: int
    depth: int
    tables_per_leaf: int
    views_per_leaf: int
    table_columns: int
    table_properties: int
    namespace_properties: int = 10
    view_columns: int = 10
    view_properties: int = 10

    @property
    def namespace_count(self) -> int:
        if self.width == 1:
            return self.depth
        return int((self.width**self.depth - 1) // (self.width - 1))

    def level(self, depth: int) -> range:
        """Ordinals of the namespaces `depth` levels below the root (the root is level 0)."""
        if self.width == 1:
            return range(depth, depth + 1)
        first = (self.width**depth - 1) // (self.width - 1)
        return range(first, first + self.width**depth)

    def path(self, ordinal: int) -> tuple[str, ...]:
        """The namespace's levels, root first: its ancestors' names and its own."""
        levels = []
        while True:
            levels.append(f"ns_{ordinal}")
            if ordinal == 0:
                break
            ordinal = (ordinal - 1) // self.width
        return tuple(reversed(levels))

    def namespaces(self) -> Iterator[tuple[str, ...]]:
        for depth in range(self.depth):
            for ordinal in self.level(depth):
                yield self.path(ordinal)

    def leaves(self) -> list[tuple[str, ...]]:
        return [self.path(ordinal) for ordinal in self.level(self.depth - 1)]

    def tables(self) -> list[tuple[tuple[str, ...], str]]:
        """(namespace, name) of every table, numbered across the leaves in order."""
        return [
            (leaf, f"t_{index * self.tables_per_leaf + j}")
            for index, leaf in enumerate(self.leaves())
            for j in range(self.tables_per_leaf)
        ]

    def views(self) -> list[tuple[tuple[str, ...], str]]:
        return [
            (leaf, f"v_{index * self.views_per_leaf + j}")
            for index, leaf in enumerate(self.leaves())
            for j in range(self.views_per_leaf)
        ]

    def describe(self) -> str:
        return (
            f"width {self.width}, depth {self.depth}: {self.namespace_count:,} namespaces "
            f"({len(self.leaves()):,} leaves, {self.namespace_properties} properties each), "
            f"{len(self.tables()):,} tables ({self.table_columns} columns, "
            f"{self.table_properties} properties), {len(self.views()):,} views "
            f"({self.view_columns} columns, {self.view_properties} properties)"
        )


def namespace_path(levels: Sequence[str]) -> str:
    """The URL path segment of a namespace: its levels joined by the unit separator, encoded."""
    return quote(UNIT_SEPARATOR.join(levels), safe="")


def properties(prefix: str, count: int) -> dict[str, str]:
    return {f"{prefix}_{i}": f"value-{i}" for i in range(count)}


def schema(columns: int) -> dict[str, Any]:
    """Required int columns numbered from 1, the first being the identifier field."""
    fields = [
        {"id": i, "name": f"column_{i}", "type": "int", "required": True}
        for i in range(1, columns + 1)
    ]
    return {"type": "struct", "schema-id": 0, "fields": fields, "identifier-field-ids": [1]}


def namespace_body(tree: Tree, levels: Sequence[str]) -> dict[str, Any]:
    return {
        "namespace": list(levels),
        "properties": properties("namespace_attribute", tree.namespace_properties),
    }


def table_body(tree: Tree, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "schema": schema(tree.table_columns),
        "properties": properties("initial_attribute", tree.table_properties),
    }


def view_body(tree: Tree, levels: Sequence[str], name: str) -> dict[str, Any]:
    columns = ", ".join(f"column_{i}" for i in range(1, tree.view_columns + 1))
    return {
        "name": name,
        "schema": schema(tree.view_columns),
        "view-version": {
            "version-id": 1,
            "schema-id": 0,
            "timestamp-ms": int(time.time() * 1000),
            "summary": {"engine-name": "icefloe-bench"},
            "representations": [
                {"type": "sql", "sql": f"SELECT {columns} FROM t_0", "dialect": "spark"}
            ],
            "default-namespace": list(levels),
        },
        "properties": properties("view_attribute", tree.view_properties),
    }


@dataclass(frozen=True)
class Created:
    """How fast one kind of object was created: count, wall seconds, request latencies."""

    kind: str
    count: int
    seconds: float
    concurrency: int
    latency: Latency

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


async def _post_all(
    client: httpx.AsyncClient, requests: list[tuple[str, dict[str, Any]]], concurrency: int
) -> list[int]:
    """POST every (path, body), `concurrency` at a time; each one's latency in ns."""
    gate = asyncio.Semaphore(concurrency)
    samples: list[int] = []

    async def one(path: str, body: dict[str, Any]) -> None:
        async with gate:
            began = time.perf_counter_ns()
            response = await client.post(path, json=body)
            samples.append(time.perf_counter_ns() - began)
        if response.status_code != 200:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:500]}")

    await asyncio.gather(*(one(path, body) for path, body in requests))
    return samples


async def _create(
    base_url: str,
    headers: dict[str, str],
    tree: Tree,
    table_concurrency: int,
    view_concurrency: int,
) -> list[Created]:
    limits = httpx.Limits(max_connections=max(table_concurrency, view_concurrency))
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=300, limits=limits
    ) as client:
        results = []
        began = time.perf_counter()
        samples: list[int] = []
        for depth in range(tree.depth):  # parents before children
            level = [tree.path(ordinal) for ordinal in tree.level(depth)]
            requests = [("/namespaces", namespace_body(tree, levels)) for levels in level]
            samples += await _post_all(client, requests, table_concurrency)
        results.append(
            Created(
                "namespaces",
                tree.namespace_count,
                time.perf_counter() - began,
                table_concurrency,
                Latency.of_ns(samples),
            )
        )
        for kind, objects, concurrency in (
            ("tables", tree.tables(), table_concurrency),
            ("views", tree.views(), view_concurrency),
        ):
            requests = [
                (
                    f"/namespaces/{namespace_path(levels)}/{kind}",
                    table_body(tree, name) if kind == "tables" else view_body(tree, levels, name),
                )
                for levels, name in objects
            ]
            began = time.perf_counter()
            samples = await _post_all(client, requests, concurrency)
            seconds = time.perf_counter() - began
            results.append(
                Created(kind, len(objects), seconds, concurrency, Latency.of_ns(samples))
            )
        return results


def create_tree(
    base_url: str,
    headers: dict[str, str],
    tree: Tree,
    table_concurrency: int = 20,
    view_concurrency: int = 10,
) -> list[Created]:
    """Create the whole tree under `base_url` (a warehouse's `/v1/<prefix>`); Polaris' default
    concurrency is 20 requests in flight for tables (and namespaces) and 10 for views."""
    return asyncio.run(_create(base_url, headers, tree, table_concurrency, view_concurrency))
