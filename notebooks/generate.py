"""Writes the notebooks in this folder from the cells below, with empty outputs.

The notebooks are data; this file is their source. After editing a cell here, run
`.venv/bin/python notebooks/generate.py`; `tests/clients/test_notebooks.py` checks that the
committed notebooks match it and runs the quickstart against a real server.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

HERE = Path(__file__).resolve().parent

# The offline way to load DuckDB's extensions: from the pinned `duckdb-extension-*` wheels when
# they are installed (no network needed), else DuckDB's own INSTALL from its repository.
DUCKDB_CONNECT = """\
import sysconfig

import duckdb


def duckdb_with_iceberg() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    site = Path(sysconfig.get_paths()["purelib"])
    for name in ("httpfs", "avro", "iceberg"):
        wheel = sorted(site.glob(f"duckdb_extension_{name}/extensions/*/{name}.duckdb_extension"))
        if wheel:
            connection.execute(f"LOAD '{wheel[-1]}'")
        else:
            connection.execute(f"INSTALL {name}; LOAD {name}")
    return connection"""

WEATHER_DATA = '''\
import datetime as dt
import math
import random

import pyarrow as pa

SCHEMA = pa.schema(
    [
        pa.field("day", pa.date32(), nullable=False),
        pa.field("city", pa.string(), nullable=False),
        pa.field("temp_max_c", pa.float64()),
        pa.field("temp_min_c", pa.float64()),
        pa.field("precip_mm", pa.float64()),
    ]
)
# Mean temperature in mid-January and its seasonal swing, per city.
CITIES = {"Oslo": (-3.0, 19.0), "Lima": (23.0, -6.0), "Nairobi": (19.0, -2.0)}


def weather(first: dt.date, days: int, seed: int) -> pa.Table:
    """Deterministic daily weather: a seasonal curve plus seeded noise."""
    rng = random.Random(seed)
    rows: dict[str, list[object]] = {name: [] for name in SCHEMA.names}
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        season = (1 - math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365)) / 2
        for city, (january, swing) in CITIES.items():
            mean = january + swing * season + rng.gauss(0, 2)
            rows["day"].append(day)
            rows["city"].append(city)
            rows["temp_max_c"].append(round(mean + 4 + rng.random() * 2, 1))
            rows["temp_min_c"].append(round(mean - 4 - rng.random() * 2, 1))
            rows["precip_mm"].append(round(max(0.0, rng.gauss(0, 4)), 1))
    return pa.table(rows, schema=SCHEMA)'''


def quickstart() -> list[NotebookNode]:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return [
        md(
            "# icefloe quickstart\n\n"
            "This notebook starts an icefloe catalog on this machine, writes an Iceberg table "
            "with PyIceberg, queries it with DuckDB, travels back in time and plots the data "
            "and the table's snapshot history. It needs no internet connection and no cloud "
            "account: the catalog's default warehouse lives in its embedded S3-compatible "
            "store, and clients get short-lived credentials for each table from the catalog.\n\n"
            "Run it in Jupyter or VS Code with the project's environment as its kernel "
            "(`./dev serve` or `./dev test` creates `.venv/`, which has `ipykernel`); CI runs "
            "it headless with nbclient (`tests/clients/test_notebooks.py`)."
        ),
        md(
            "## 1. Start the server\n\n"
            "`icefloe serve` on two free ports (the catalog and the embedded S3 store) with a "
            "fresh data directory. On first start it creates the database, a `default` "
            "warehouse and an admin token, saved to `admin.token` in the data directory. "
            "To use a server you already run instead, skip this cell and set `uri` and "
            "`token` yourself."
        ),
        code(
            "import atexit\n"
            "import shutil\n"
            "import socket\n"
            "import subprocess\n"
            "import sys\n"
            "import tempfile\n"
            "import time\n"
            "from pathlib import Path\n"
            "\n"
            "import httpx\n"
            "\n"
            "\n"
            "def free_port() -> int:\n"
            "    with socket.socket() as sock:\n"
            '        sock.bind(("127.0.0.1", 0))\n'
            "        return int(sock.getsockname()[1])\n"
            "\n"
            "\n"
            'data_dir = Path(tempfile.mkdtemp(prefix="icefloe-quickstart-"))\n'
            "port, s3_port = free_port(), free_port()\n"
            'server_log = (data_dir / "server.log").open("wb")\n'
            "server = subprocess.Popen(\n"
            '    [sys.executable, "-m", "catalog", "serve", "--port", str(port),\n'
            '     "--s3-port", str(s3_port), "--data-dir", str(data_dir)],\n'
            "    stdout=server_log,\n"
            "    stderr=subprocess.STDOUT,\n"
            ")\n"
            "atexit.register(server.terminate)  # also when the notebook stops half-way\n"
            'uri = f"http://127.0.0.1:{port}"\n'
            "deadline = time.monotonic() + 60\n"
            "while True:\n"
            "    if server.poll() is not None or time.monotonic() > deadline:\n"
            '        raise RuntimeError((data_dir / "server.log").read_text()[-3000:])\n'
            "    try:\n"
            '        if httpx.get(f"{uri}/healthz", timeout=1).status_code == 200:\n'
            "            break\n"
            "    except httpx.TransportError:\n"
            "        time.sleep(0.2)\n"
            'token = (data_dir / "admin.token").read_text().strip()\n'
            'print(f"catalog: {uri}")\n'
            'print(f"data dir: {data_dir}")'
        ),
        md(
            "## 2. Create a namespace and a table with PyIceberg\n\n"
            "The catalog URI, a warehouse name and a bearer token are all a client needs. "
            "The data is three months of daily weather for three cities, generated "
            "deterministically."
        ),
        code(
            WEATHER_DATA + "\n\n\n"
            "from pyiceberg.catalog.rest import RestCatalog\n"
            "\n"
            'catalog = RestCatalog("icefloe", uri=uri, warehouse="default", token=token)\n'
            'catalog.create_namespace_if_not_exists("weather")\n'
            'table = catalog.create_table("weather.daily", schema=SCHEMA)\n'
            "print(table.location())"
        ),
        md(
            "## 3. Append in batches\n\n"
            "Each append is one commit, so each month becomes one snapshot of the table."
        ),
        code(
            "months = [(dt.date(2024, 1, 1), 31), (dt.date(2024, 2, 1), 29), "
            "(dt.date(2024, 3, 1), 31)]\n"
            "for seed, (first, days) in enumerate(months):\n"
            "    table.append(weather(first, days, seed))\n"
            '    print(f"appended {first:%B}: table has {table.scan().count()} rows")'
        ),
        md(
            "## 4. Query with DuckDB through the catalog\n\n"
            "DuckDB attaches the warehouse as a database. It authenticates with the same "
            "token and reads the data files with the credentials the catalog vends."
        ),
        code(
            "\n\n\n".join(
                [
                    DUCKDB_CONNECT,
                    "duck = duckdb_with_iceberg()\n"
                    "duck.execute(f\"CREATE SECRET icefloe (TYPE ICEBERG, TOKEN '{token}')\")\n"
                    "duck.execute(f\"ATTACH 'default' AS lake (TYPE ICEBERG, ENDPOINT '{uri}', "
                    'SECRET icefloe)")\n'
                    'total = duck.sql("SELECT count(*) FROM lake.weather.daily").fetchone()[0]\n'
                    'print(f"DuckDB counts {total} rows")\n'
                    "monthly = duck.sql(\n"
                    '    """\n'
                    "    SELECT city, strftime(day, '%Y-%m') AS month,\n"
                    "           round(avg(temp_max_c), 1) AS avg_max_c,\n"
                    "           round(sum(precip_mm), 1) AS precip_mm\n"
                    "    FROM lake.weather.daily\n"
                    "    GROUP BY ALL ORDER BY city, month\n"
                    '    """\n'
                    ").df()\n"
                    "monthly",
                ]
            )
        ),
        md(
            "## 5. Time travel\n\n"
            "Every snapshot stays readable until it is expired. PyIceberg scans a snapshot by "
            "id; DuckDB reads one with `AT (VERSION => id)`."
        ),
        code(
            "snapshots = table.snapshots()\n"
            "first = snapshots[0].snapshot_id\n"
            "in_january = table.scan(snapshot_id=first).to_arrow()\n"
            'print(f"{len(snapshots)} snapshots; the first has {in_january.num_rows} rows '
            '(PyIceberg)")\n'
            "at_first = duck.sql(\n"
            '    f"SELECT count(*), max(day) FROM lake.weather.daily AT (VERSION => {first})"\n'
            ").fetchone()\n"
            'print(f"DuckDB at snapshot {first}: {at_first[0]} rows, last day {at_first[1]}")'
        ),
        md("## 6. Plot the data"),
        code(
            "import matplotlib.pyplot as plt\n"
            "\n"
            'frame = table.scan().to_pandas().sort_values("day")\n'
            "fig, ax = plt.subplots(figsize=(9, 4))\n"
            'for city, rows in frame.groupby("city"):\n'
            '    ax.plot(rows["day"], rows["temp_max_c"], label=city)\n'
            'ax.set_title("Daily maximum temperature, Q1 2024")\n'
            'ax.set_ylabel("°C")\n'
            "ax.legend()\n"
            "fig.autofmt_xdate()\n"
            "plt.show()"
        ),
        md(
            "## 7. Plot the snapshot history\n\n"
            "Each snapshot's summary records the table's total rows after that commit."
        ),
        code(
            "import pandas as pd\n"
            "\n"
            "history = pd.DataFrame(\n"
            "    {\n"
            '        "committed": [pd.Timestamp(s.timestamp_ms, unit="ms") for s in snapshots],\n'
            '        "rows": [int(s.summary["total-records"]) for s in snapshots],\n'
            '        "operation": [s.summary.operation.value for s in snapshots],\n'
            "    }\n"
            ")\n"
            'print("rows per snapshot:", history["rows"].tolist())\n'
            'seconds = (history["committed"] - history["committed"].iloc[0]).dt.total_seconds()\n'
            "fig, ax = plt.subplots(figsize=(9, 3))\n"
            'ax.step(seconds, history["rows"], where="post", marker="o")\n'
            'for x, rows in zip(seconds, history["rows"], strict=True):\n'
            "    ax.annotate(\n"
            '        f"{rows} rows", (x, rows), textcoords="offset points", xytext=(4, -12)\n'
            "    )\n"
            'ax.set_title("weather.daily: rows per snapshot")\n'
            'ax.set_xlabel("seconds since the first commit")\n'
            'ax.set_ylabel("rows")\n'
            'ax.set_ylim(0, history["rows"].max() * 1.15)\n'
            "plt.show()\n"
            "history"
        ),
        md(
            "## 8. Stop the server\n\n"
            "Stopping the process is all it takes; the data directory is removed here because "
            "it was a temporary one."
        ),
        code(
            "duck.close()\n"
            "server.terminate()\n"
            "server.wait(timeout=30)\n"
            "server_log.close()\n"
            "shutil.rmtree(data_dir)\n"
            'print(f"server stopped (exit code {server.returncode})")'
        ),
    ]


def r2_guide() -> list[NotebookNode]:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return [
        md(
            "# icefloe and Cloudflare R2\n\n"
            "The quickstart's flow against real Cloudflare R2, in one of two ways:\n\n"
            "- **icefloe with an R2 warehouse** (`R2_GUIDE_TARGET=icefloe`, the default): "
            "your icefloe server keeps the catalog, the table data lives in an R2 bucket, and "
            "clients get temporary R2 credentials scoped to each table.\n"
            "- **R2 Data Catalog** (`R2_GUIDE_TARGET=r2-data-catalog`): the same client code "
            "against Cloudflare's managed catalog, configured as Cloudflare documents it "
            "(catalog URI, warehouse name, API token).\n\n"
            "Everything comes from environment variables, so no secret is written into the "
            "notebook. It needs a Cloudflare account and is not run in CI (CI only checks "
            "that it is a valid notebook whose cells compile)."
        ),
        md(
            "## Option A: icefloe with an R2 warehouse\n\n"
            "1. Create an R2 bucket and an R2 API token with *Object Read & Write* on it. "
            "Cloudflare shows the token's value, its S3 access key id and secret.\n"
            "2. Start icefloe with the R2 settings (or put them in `docker/r2.env` for "
            "`docker compose`; see `docker/r2.env.example`):\n\n"
            "```bash\n"
            "export ICEFLOE_R2_ACCOUNT_ID=<32-hex account id>\n"
            "export ICEFLOE_R2_API_TOKEN=<API token value>          # kept out of the database\n"
            "export ICEFLOE_R2_PARENT_ACCESS_KEY_ID=<its access key id>\n"
            "icefloe serve\n"
            "```\n\n"
            "3. Create the warehouse. With the settings above, the admin API's "
            '`"storage": {"type": "r2"}` makes icefloe vend temporary credentials for each '
            "table through Cloudflare's temporary access credentials API (the next cell does "
            "this when `R2_CREATE_WAREHOUSE=1`). The CLI creates a plain S3 warehouse on R2 "
            "instead, where icefloe keeps the keys and clients use remote signing "
            "(`header.X-Iceberg-Access-Delegation=remote-signing`) or keys of their own:\n\n"
            "```bash\n"
            "icefloe warehouse create r2lake s3://<bucket> \\\n"
            "    --endpoint https://<account>.r2.cloudflarestorage.com --region auto \\\n"
            "    --access-key-id <access key id> --secret-access-key <secret>\n"
            "```\n\n"
            "Environment for this notebook: `ICEFLOE_URI` (default `http://127.0.0.1:8181`), "
            "`ICEFLOE_TOKEN` (an admin token to create the warehouse, or a read-write one to "
            "use it), `R2_BUCKET`, `R2_WAREHOUSE` (the icefloe warehouse name; default: the "
            "bucket name)."
        ),
        md(
            "## Option B: R2 Data Catalog\n\n"
            "Enable the catalog on the bucket (dashboard: the bucket's *Settings* → *R2 Data "
            "Catalog* → *Enable*, or `npx wrangler r2 bucket catalog enable <bucket>`), note "
            "its **Catalog URI** and **Warehouse name**, and create an API token with both R2 "
            "Data Catalog and R2 storage permissions. Environment: `R2_CATALOG_URI`, "
            "`R2_WAREHOUSE`, `R2_TOKEN`."
        ),
        code(
            "import os\n"
            "\n"
            'TARGET = os.environ.get("R2_GUIDE_TARGET", "icefloe")\n'
            'if TARGET == "icefloe":\n'
            '    uri = os.environ.get("ICEFLOE_URI", "http://127.0.0.1:8181")\n'
            '    token = os.environ["ICEFLOE_TOKEN"]\n'
            '    bucket = os.environ["R2_BUCKET"]\n'
            '    warehouse = os.environ.get("R2_WAREHOUSE", bucket)\n'
            'elif TARGET == "r2-data-catalog":\n'
            '    uri = os.environ["R2_CATALOG_URI"]\n'
            '    token = os.environ["R2_TOKEN"]\n'
            '    warehouse = os.environ["R2_WAREHOUSE"]\n'
            "else:\n"
            '    raise ValueError(f"R2_GUIDE_TARGET: icefloe or r2-data-catalog, not {TARGET!r}")\n'
            'print(f"{TARGET}: catalog {uri}, warehouse {warehouse}")'
        ),
        md(
            "### Create the R2 warehouse in icefloe (option A only)\n\n"
            "icefloe writes, lists, reads and deletes a probe object in the bucket first, so "
            "a wrong account, key or bucket fails here and not at the first commit."
        ),
        code(
            "import httpx\n"
            "\n"
            'if TARGET == "icefloe" and os.environ.get("R2_CREATE_WAREHOUSE") == "1":\n'
            "    created = httpx.post(\n"
            '        f"{uri}/admin/v1/warehouses",\n'
            '        headers={"Authorization": f"Bearer {token}"},\n'
            "        json={\n"
            '            "name": warehouse,\n'
            '            "location": f"s3://{bucket}",\n'
            '            "storage": {"type": "r2"},\n'
            '            "properties": {"credentials.ttl-seconds": "900"},\n'
            "        },\n"
            "        timeout=60,\n"
            "    )\n"
            "    print(created.status_code, created.json())\n"
            "    created.raise_for_status()"
        ),
        md(
            "## Connect PyIceberg, create a namespace and a table\n\n"
            "The same three values work for both options, exactly as in Cloudflare's PyIceberg "
            "example: `RestCatalog(name, warehouse=..., uri=..., token=...)`."
        ),
        code(
            WEATHER_DATA + "\n\n\n"
            "from pyiceberg.catalog.rest import RestCatalog\n"
            "\n"
            'catalog = RestCatalog("r2", uri=uri, warehouse=warehouse, token=token)\n'
            'namespace = os.environ.get("R2_NAMESPACE", "weather_guide")\n'
            "catalog.create_namespace_if_not_exists(namespace)\n"
            'table = catalog.create_table_if_not_exists(f"{namespace}.daily", schema=SCHEMA)\n'
            "print(table.location())"
        ),
        code(
            "months = [(dt.date(2024, 1, 1), 31), (dt.date(2024, 2, 1), 29), "
            "(dt.date(2024, 3, 1), 31)]\n"
            "for seed, (first, days) in enumerate(months):\n"
            "    table.append(weather(first, days, seed))\n"
            '    print(f"appended {first:%B}: table has {table.scan().count()} rows")'
        ),
        md(
            "## Query with DuckDB\n\n"
            "As in Cloudflare's DuckDB example: an `ICEBERG` secret with the token, then "
            "`ATTACH '<warehouse>' ... (TYPE ICEBERG, ENDPOINT '<catalog uri>')`."
        ),
        code(
            "\n\n\n".join(["from pathlib import Path\n\n" + DUCKDB_CONNECT, ""])
            + "duck = duckdb_with_iceberg()\n"
            "duck.execute(f\"CREATE SECRET r2_secret (TYPE ICEBERG, TOKEN '{token}')\")\n"
            "duck.execute(\n"
            "    f\"ATTACH '{warehouse}' AS lake (TYPE ICEBERG, ENDPOINT '{uri}', "
            'SECRET r2_secret)"\n'
            ")\n"
            "duck.sql(\n"
            '    f"SELECT city, round(avg(temp_max_c), 1) AS avg_max_c "\n'
            '    f"FROM lake.{namespace}.daily GROUP BY city ORDER BY city"\n'
            ").df()"
        ),
        md("## Time travel"),
        code(
            "snapshots = table.snapshots()\n"
            "first = snapshots[0].snapshot_id\n"
            'print("PyIceberg:", table.scan(snapshot_id=first).count(), "rows at the first '
            'snapshot")\n'
            "print(\n"
            '    "DuckDB:",\n'
            "    duck.sql(\n"
            '        f"SELECT count(*) FROM lake.{namespace}.daily AT (VERSION => {first})"\n'
            "    ).fetchone()[0],\n"
            ")"
        ),
        md("## Plot the data and the snapshot history"),
        code(
            "import matplotlib.pyplot as plt\n"
            "import pandas as pd\n"
            "\n"
            'frame = table.scan().to_pandas().sort_values("day")\n'
            "fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6))\n"
            'for city, rows in frame.groupby("city"):\n'
            '    top.plot(rows["day"], rows["temp_max_c"], label=city)\n'
            'top.set_title("Daily maximum temperature (°C)")\n'
            "top.legend()\n"
            "bottom.step(\n"
            '    [pd.Timestamp(s.timestamp_ms, unit="ms") for s in snapshots],\n'
            '    [int(s.summary["total-records"]) for s in snapshots],\n'
            '    where="post",\n'
            '    marker="o",\n'
            ")\n"
            'bottom.set_title("rows per snapshot")\n'
            "fig.tight_layout()\n"
            "plt.show()"
        ),
        md(
            "## Clean up\n\n"
            "Set `R2_DROP=1` to drop the table and its files (`purge_table`) and the namespace."
        ),
        code(
            "duck.close()\n"
            'if os.environ.get("R2_DROP") == "1":\n'
            '    catalog.purge_table(f"{namespace}.daily")\n'
            "    catalog.drop_namespace(namespace)\n"
            '    print("dropped")'
        ),
    ]


NOTEBOOKS = {"quickstart.ipynb": quickstart, "r2_guide.ipynb": r2_guide}


def build(name: str) -> NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=NOTEBOOKS[name]())
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    # Stable ids keep regenerated notebooks identical to the committed ones.
    for index, cell in enumerate(notebook.cells):
        cell.id = f"{Path(name).stem}-{index:02d}"
    nbformat.validate(notebook)
    return notebook


def render(name: str) -> str:
    return nbformat.writes(build(name)) + "\n"


def main() -> None:
    for name in NOTEBOOKS:
        (HERE / name).write_text(render(name))
        print(f"wrote {HERE / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
