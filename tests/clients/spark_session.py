"""Spark against a test server, configured by the README's own Spark blocks.

The README shows what a user pastes (`http://127.0.0.1:8181`, `icefloe-data/admin.token`, the
runtime jar's file name); the tests fill in their server's address, token file and the jar
installed in the virtual environment by plain string replacement, and add only what a shared CI
machine needs (a small local master, no UI, few shuffle partitions). Everything is offline: the
jar comes from the pinned PyPI package `snowpark-connect-deps-iceberg`, never from Maven.

One SparkSession per process: PySpark keeps one JVM, whose `spark.jars` are fixed at start.
"""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path
from typing import Any

from tests.support.readme import snippet
from tests.support.server import CatalogServer

RUNTIME_JAR_NAME = "iceberg-spark-runtime-3.5_2.12-1.9.2.jar"  # pyspark 3.5 is Scala 2.12
RUNTIME_JAR = (
    Path(sysconfig.get_paths()["purelib"]) / "snowpark_connect_deps_iceberg" / "jars"
) / RUNTIME_JAR_NAME
README_URI = "http://127.0.0.1:8181"
README_TOKEN_FILE = "icefloe-data/admin.token"
README_CATALOG = "icefloe"

# Test-machine settings only: 2 shared cores, no UI, small memory, loopback, UTC.
TEST_SETTINGS = {
    "spark.master": "local[2]",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    # Short-lived JVM: the quick JIT tier and the serial collector spend far less CPU.
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


def java_missing() -> str | None:
    """Why Spark cannot run here, or None."""
    if shutil.which("java") is None:
        return "Spark needs a Java runtime (17): `java` is not on PATH"
    return None


def fill(text: str, replacements: dict[str, str]) -> str:
    """Replace each placeholder; a placeholder the README no longer has fails the test."""
    for placeholder, value in replacements.items():
        assert placeholder in text, f"README Spark block has no {placeholder!r} any more"
        text = text.replace(placeholder, value)
    return text


def readme_session(server: CatalogServer, work_dir: Path, name: str) -> Any:
    """Run the README's PySpark block `name` against `server`; returns its `spark`."""
    assert RUNTIME_JAR.is_file(), f"{RUNTIME_JAR} is missing: snowpark-connect-deps-iceberg"
    settings = {**TEST_SETTINGS, "spark.sql.warehouse.dir": str(work_dir / "spark-warehouse")}
    builder = "SparkSession.builder" + "".join(
        f".config({key!r}, {value!r})" for key, value in settings.items()
    )
    code = fill(
        snippet(name),
        {
            "SparkSession.builder": builder,
            f'"{RUNTIME_JAR_NAME}"': repr(str(RUNTIME_JAR)),
            README_URI: server.url,
            README_TOKEN_FILE: str(server.data_dir / "admin.token"),
        },
    )
    scope: dict[str, Any] = {}
    exec(compile(code, f"README.md ({name})", "exec"), scope)
    spark = scope["spark"]
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def readme_properties(name: str, replacements: dict[str, str]) -> dict[str, str]:
    """A README block in spark-defaults.conf form (`key=value` lines), filled in."""
    properties: dict[str, str] = {}
    for line in fill(snippet(name), replacements).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            properties[key.strip()] = value.strip()
    return properties


def add_catalog(spark: Any, name: str, properties: dict[str, str]) -> None:
    """Define one more catalog on the running session, named `name` instead of `icefloe`
    (Spark reads a catalog's settings when the catalog is first used)."""
    prefix = f"spark.sql.catalog.{README_CATALOG}"
    for key, value in properties.items():
        if key == prefix or key.startswith(prefix + "."):
            spark.conf.set(f"spark.sql.catalog.{name}" + key[len(prefix) :], value)
