"""Ready-to-paste snippets that connect engines to a running catalog (printed by `serve`)."""

from __future__ import annotations

from pathlib import Path


def pyiceberg_snippet(uri: str, warehouse: str, token_file: Path | None) -> str:
    token = f', token=open("{token_file}").read().strip()' if token_file else ""
    return f"""from pyiceberg.catalog.rest import RestCatalog

catalog = RestCatalog("icefloe", uri="{uri}", warehouse="{warehouse}"{token})
catalog.create_namespace_if_not_exists("demo")"""


def duckdb_snippet(uri: str, warehouse: str, token_file: Path | None) -> str:
    if token_file is None:
        return f"""INSTALL iceberg; LOAD iceberg;
ATTACH '{warehouse}' AS icefloe (TYPE ICEBERG, ENDPOINT '{uri}', AUTHORIZATION_TYPE 'none');
SHOW ALL TABLES;"""
    # Printed for a person to paste, never executed by us: no injection surface.
    return f"""INSTALL iceberg; LOAD iceberg;
SET VARIABLE icefloe_token = (SELECT trim(content, E'\\n') FROM read_text('{token_file}'));
CREATE SECRET icefloe_token (TYPE ICEBERG, TOKEN getvariable('icefloe_token'));
ATTACH '{warehouse}' AS icefloe (TYPE ICEBERG, ENDPOINT '{uri}', SECRET icefloe_token);
SHOW ALL TABLES;"""  # noqa: S608


def spark_snippet(uri: str, warehouse: str, token_file: Path | None) -> str:
    token = (
        f" \\\n  --conf spark.sql.catalog.icefloe.token=$(cat {token_file})" if token_file else ""
    )
    return f"""pyspark \\
  --packages org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.9.2 \\
  --conf spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions \\
  --conf spark.sql.catalog.icefloe=org.apache.iceberg.spark.SparkCatalog \\
  --conf spark.sql.catalog.icefloe.type=rest \\
  --conf spark.sql.catalog.icefloe.uri={uri} \\
  --conf spark.sql.catalog.icefloe.warehouse={warehouse}{token}"""
