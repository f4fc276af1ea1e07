"""The notebooks in `notebooks/`: the quickstart runs end to end against a real `icefloe serve`
in a real Jupyter kernel; the R2 guide (it needs a Cloudflare account) is checked statically."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import nbformat
import pytest
import typer.main
from nbclient import NotebookClient
from nbformat.notebooknode import NotebookNode

from catalog.cli import app
from catalog.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 120


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notebooks_generate", NOTEBOOKS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read(name: str) -> NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def stream_text(cell: NotebookNode) -> str:
    return "".join(o["text"] for o in cell.get("outputs", []) if o["output_type"] == "stream")


def pngs(cell: NotebookNode) -> list[Any]:
    return [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]


@pytest.fixture(scope="module")
def executed_quickstart() -> NotebookNode:
    """The quickstart as a person runs it: a python3 kernel (this interpreter's ipykernel), cwd
    `notebooks/`, no ICEFLOE_* settings leaking in from the test environment."""
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("ICEFLOE_") or k == "MPLBACKEND"]:
            patch.delenv(key)
        notebook = read("quickstart.ipynb")
        NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOKS)}},
        ).execute()  # raises CellExecutionError on the first failing cell
    return notebook


def test_quickstart_writes_queries_and_time_travels_with_the_expected_row_counts(
    executed_quickstart: NotebookNode,
) -> None:
    text = "\n".join(stream_text(c) for c in executed_quickstart.cells)
    assert "appended January: table has 93 rows" in text
    assert "appended March: table has 273 rows" in text
    assert "DuckDB counts 273 rows" in text
    assert "3 snapshots; the first has 93 rows (PyIceberg)" in text
    assert re.search(r"DuckDB at snapshot \d+: 93 rows, last day 2024-01-31", text)
    assert "rows per snapshot: [93, 180, 273]" in text


def test_quickstart_draws_the_data_and_the_snapshot_history(
    executed_quickstart: NotebookNode,
) -> None:
    plots = [c for c in executed_quickstart.cells if c.cell_type == "code" and pngs(c)]
    assert len(plots) == 2
    assert all(len(pngs(c)) == 1 for c in plots)
    assert "temp_max_c" in plots[0].source
    assert "rows per snapshot" in plots[1].source
    monthly = next(c for c in executed_quickstart.cells if "monthly" in c.source)
    table = next(o for o in monthly.outputs if o["output_type"] == "execute_result")
    assert table["data"]["text/plain"].count("2024-0") == 9  # 3 cities x 3 months


def test_quickstart_stops_its_server_and_removes_its_data(
    executed_quickstart: NotebookNode,
) -> None:
    text = "\n".join(stream_text(c) for c in executed_quickstart.cells)
    uri = re.search(r"catalog: (http://\S+)", text)
    data_dir = re.search(r"data dir: (\S+)", text)
    assert uri and data_dir
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{uri.group(1)}/healthz", timeout=2)
    assert not Path(data_dir.group(1)).exists()
    assert "server stopped" in stream_text(executed_quickstart.cells[-1])


@pytest.mark.parametrize("name", ["quickstart.ipynb", "r2_guide.ipynb"])
def test_committed_notebook_is_what_the_generator_writes_with_no_outputs(name: str) -> None:
    committed = (NOTEBOOKS / name).read_text()
    assert committed == generator().render(name), "run: .venv/bin/python notebooks/generate.py"
    notebook = nbformat.reads(committed, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_r2_guide_is_a_valid_notebook_whose_code_cells_all_compile() -> None:
    notebook = read("r2_guide.ipynb")
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert len(code) >= 6
    for index, cell in enumerate(code):
        compile(cell.source, f"r2_guide.ipynb[code cell {index}]", "exec")


def test_r2_guide_names_only_real_settings_and_cli_flags() -> None:
    text = "\n".join(c.source for c in read("r2_guide.ipynb").cells)
    settings = {f"ICEFLOE_{name.upper()}" for name in Settings.model_fields}
    named = set(re.findall(r"ICEFLOE_[A-Z0-9_]+", text)) - {"ICEFLOE_URI", "ICEFLOE_TOKEN"}
    assert {"ICEFLOE_R2_ACCOUNT_ID", "ICEFLOE_R2_API_TOKEN"} <= named
    assert named <= settings
    create = typer.main.get_command(app).commands["warehouse"].commands["create"]  # type: ignore[attr-defined]
    flags = {opt for param in create.params for opt in param.opts}
    command = re.search(r"icefloe warehouse create (.*?)\n```", text, re.S)
    assert command
    shown = set(re.findall(r"--[a-z-]+", command.group(1)))
    assert {"--endpoint", "--region"} <= shown
    assert shown <= flags
    assert "https://<account>.r2.cloudflarestorage.com --region auto" in text
