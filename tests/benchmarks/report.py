"""A suite's result, printed as one table and kept as JSON.

Suites choose their columns; this module only knows how each kind of figure reads best
(requests/s without decimals, milliseconds to two places below ten, ratios with an x). Saved
results render as Markdown too, which is how docs/performance.md gets its tables:

    python -m tests.benchmarks.report .bench/results-<time>.json
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

Kind = Literal["text", "int", "rate", "ms", "seconds", "ratio", "bytes", "cpu"]
Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: Kind = "text"


@dataclass
class SuiteResult:
    name: str
    title: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    tables: list[SuiteResult] = field(default_factory=list)  # more tables, printed after this

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": [{"key": c.key, "header": c.header, "kind": c.kind} for c in self.columns],
            "rows": self.rows,
            "notes": self.notes,
            "data": self.data,
            "seconds": round(self.seconds, 1),
            "tables": [table.to_json() for table in self.tables],
        }


def format_value(value: Any, kind: Kind) -> str:
    if value is None:
        return "-"
    if kind == "text":
        return str(value)
    number = float(value)
    if kind == "int":
        return f"{int(number):,}"
    if kind == "rate":
        return f"{number:,.0f}" if number >= 100 else f"{number:,.1f}"
    if kind in ("ms", "seconds"):
        return (
            f"{number:.2f}"
            if number < 10
            else f"{number:,.1f}"
            if number < 100
            else f"{number:,.0f}"
        )
    if kind == "ratio":
        return f"{number:.2f}x" if number < 100 else f"{number:,.0f}x"
    if kind == "cpu":
        return f"{number:.2f}"
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if number >= size:
            return f"{number / size:,.1f} {unit}"
    return f"{number:,.0f} B"


def render(result: SuiteResult, console: Console) -> None:
    table = Table(title=f"{result.name}: {result.title}", title_justify="left")
    for column in result.columns:
        table.add_column(column.header, justify="left" if column.kind == "text" else "right")
    for row in result.rows:
        table.add_row(*(format_value(row.get(c.key), c.kind) for c in result.columns))
    console.print(table)
    for note in result.notes:
        console.print(f"  [dim]{note}[/dim]", highlight=False)
    for extra in result.tables:
        render(extra, console)
    if result.seconds:
        console.print(f"  [dim]suite time {result.seconds:.0f} s[/dim]\n")


def ratio(value: float | None, baseline: float | None) -> float | None:
    return value / baseline if value is not None and baseline else None


def markdown(name: str, suite: dict[str, Any]) -> str:
    """One saved suite (as `SuiteResult.to_json` wrote it) as a Markdown table and its notes."""
    columns = [Column(c["key"], c["header"], c["kind"]) for c in suite["columns"]]
    lines = [
        f"#### `{name}`: {suite['title']}",
        "",
        "| " + " | ".join(c.header for c in columns) + " |",
        "| " + " | ".join("---" if c.kind == "text" else "---:" for c in columns) + " |",
    ]
    for row in suite["rows"]:
        lines.append(
            "| " + " | ".join(format_value(row.get(c.key), c.kind) for c in columns) + " |"
        )
    lines.append("")
    lines += [f"- {note}" for note in suite["notes"]]
    lines += ["", *(markdown(table["name"], table) for table in suite.get("tables", []))]
    return "\n".join(lines) + "\n"


def main() -> None:
    report = json.loads(Path(sys.argv[1]).read_text())
    for name, suite in report["suites"].items():
        sys.stdout.write(markdown(name, suite) + "\n")


if __name__ == "__main__":
    main()
