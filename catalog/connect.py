"""Ready-to-paste snippets that connect engines to a running catalog (printed by `serve`)."""

from __future__ import annotations


def pyiceberg_snippet(uri: str, warehouse: str) -> str:
    return f"""from pyiceberg.catalog.rest import RestCatalog

catalog = RestCatalog("icefloe", uri="{uri}", warehouse="{warehouse}")
catalog.create_namespace_if_not_exists("demo")"""


def duckdb_snippet(uri: str, warehouse: str) -> str:
    return f"""INSTALL iceberg; LOAD iceberg;
ATTACH '{warehouse}' AS icefloe (TYPE ICEBERG, ENDPOINT '{uri}', AUTHORIZATION_TYPE 'none');
SHOW ALL TABLES;"""


def spark_snippet(uri: str, warehouse: str) -> str:
    return f"""pyspark \\
  --conf spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions \\
  --conf spark.sql.catalog.icefloe=org.apache.iceberg.spark.SparkCatalog \\
  --conf spark.sql.catalog.icefloe.type=rest \\
  --conf spark.sql.catalog.icefloe.uri={uri} \\
  --conf spark.sql.catalog.icefloe.warehouse={warehouse}"""
