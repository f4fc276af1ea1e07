"""One adapter per S3 client, so a single behaviour suite runs through each of them.

An adapter speaks its client's own API (boto3 calls, `pyarrow.fs.S3FileSystem`,
`s3fs.S3FileSystem`, DuckDB SQL over httpfs) and normalises results and failures:
a missing object is `FileNotFoundError`, a refused request `PermissionError`, a failed
precondition `FileExistsError`.  What a client cannot express is listed in
`unsupported` with the reason, and the behaviour tests skip it for that client.

Keys are relative to the adapter's bucket.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from s3_harness import Endpoint

from tests.support.duckdb_iceberg import extension_path

MiB = 1024 * 1024

# Capabilities a test may require; each adapter lists the ones its client lacks.
RANGE = "ranged read"
CONTENT_TYPE = "content-type"
USER_METADATA = "x-amz-meta-*"
DELIMITER = "listing with a delimiter"
DELETE_KEY = "delete one key"
COPY = "server-side copy"
IF_NONE_MATCH = "conditional put If-None-Match: *"
IF_MATCH = "conditional put If-Match"
PROJECTION = "reading some Parquet columns through ranged GETs"


@dataclass(frozen=True)
class Creds:
    access_key: str
    secret_key: str
    token: str | None = None


@dataclass(frozen=True)
class Stat:
    size: int
    etag: str | None = None
    content_type: str | None = None
    metadata: dict[str, str] | None = None


class StreamReader(io.RawIOBase):
    """A read-only file over an iterator of chunks, so nothing holds the whole body."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class Adapter(ABC):
    name: ClassVar[str]
    unsupported: ClassVar[dict[str, str]] = {}

    def __init__(self, endpoint: Endpoint, bucket: str, creds: Creds) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.creds = creds

    def require(self, *capabilities: str) -> None:
        for capability in capabilities:
            if capability in self.unsupported:
                pytest.skip(
                    f"{self.name} cannot express {capability}: {self.unsupported[capability]}"
                )

    def close(self) -> None:  # noqa: B027 - an optional hook; most clients hold nothing
        """Release client resources (connections)."""

    @abstractmethod
    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None: ...

    @abstractmethod
    def put_stream(self, key: str, chunks: Iterator[bytes]) -> None:
        """Write a body too large for one PUT through the client's multipart path."""

    @abstractmethod
    def get(self, key: str) -> bytes: ...

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of an object."""
        raise NotImplementedError

    @abstractmethod
    def stat(self, key: str) -> Stat | None: ...

    def list(self, prefix: str) -> tuple[list[str], list[str]]:
        """Keys and common prefixes directly under `prefix` (which ends with `/`)."""
        raise NotImplementedError

    @abstractmethod
    def list_all(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted."""

    def delete(self, key: str) -> None:
        raise NotImplementedError

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Delete every key under `prefix` (which ends with `/`)."""

    def copy(self, source: str, target: str) -> None:
        raise NotImplementedError

    def put_if_absent(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def put_if_match(self, key: str, data: bytes, etag: str) -> None:
        raise NotImplementedError

    @abstractmethod
    def write_parquet(self, key: str, table: pa.Table) -> None: ...

    @abstractmethod
    def read_parquet(self, key: str, columns: list[str] | None = None) -> pa.Table: ...


# --- boto3 ------------------------------------------------------------------------------


def _raise_client_error(exc: ClientError) -> None:
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ("NoSuchKey", "404") or status == 404:
        raise FileNotFoundError(code) from exc
    if code == "AccessDenied" or status == 403:
        raise PermissionError(code) from exc
    if code == "PreconditionFailed" or status == 412:
        raise FileExistsError(code) from exc
    raise exc


class Boto3(Adapter):
    name = "boto3"
    unsupported: ClassVar[dict[str, str]] = {
        PROJECTION: "boto3 has no file abstraction for pyarrow; the adapter reads objects whole",
    }

    def __init__(self, endpoint: Endpoint, bucket: str, creds: Creds) -> None:
        super().__init__(endpoint, bucket, creds)
        self.client = endpoint.client(
            access_key=creds.access_key, secret_key=creds.secret_key, token=creds.token
        )

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            _raise_client_error(exc)

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        extra: dict[str, Any] = {}
        if content_type is not None:
            extra["ContentType"] = content_type
        if metadata is not None:
            extra["Metadata"] = metadata
        self._call("put_object", Key=key, Body=data, **extra)

    def put_stream(self, key: str, chunks: Iterator[bytes]) -> None:
        config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)
        body = io.BufferedReader(StreamReader(chunks), MiB)
        self.client.upload_fileobj(body, self.bucket, key, Config=config)

    def get(self, key: str) -> bytes:
        return bytes(self._call("get_object", Key=key)["Body"].read())

    def get_range(self, key: str, start: int, end: int) -> bytes:
        result = self._call("get_object", Key=key, Range=f"bytes={start}-{end - 1}")
        return bytes(result["Body"].read())

    def stat(self, key: str) -> Stat | None:
        try:
            head = self._call("head_object", Key=key)
        except FileNotFoundError:
            return None
        return Stat(
            head["ContentLength"], head["ETag"].strip('"'), head["ContentType"], head["Metadata"]
        )

    def list(self, prefix: str) -> tuple[list[str], list[str]]:
        keys: list[str] = []
        prefixes: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/"
        )
        for page in pages:
            keys += [o["Key"] for o in page.get("Contents", [])]
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return keys, prefixes

    def list_all(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=key)

    def delete_prefix(self, prefix: str) -> None:
        keys = self.list_all(prefix)
        for i in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[i : i + 1000]]
            result = self._call("delete_objects", Delete={"Objects": batch})
            if result.get("Errors"):
                raise PermissionError(result["Errors"])

    def copy(self, source: str, target: str) -> None:
        self._call("copy_object", Key=target, CopySource={"Bucket": self.bucket, "Key": source})

    def put_if_absent(self, key: str, data: bytes) -> None:
        self._call("put_object", Key=key, Body=data, IfNoneMatch="*")

    def put_if_match(self, key: str, data: bytes, etag: str) -> None:
        self._call("put_object", Key=key, Body=data, IfMatch=f'"{etag}"')

    def write_parquet(self, key: str, table: pa.Table) -> None:
        sink = io.BytesIO()
        pq.write_table(table, sink)
        self.put(key, sink.getvalue())

    def read_parquet(self, key: str, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(io.BytesIO(self.get(key)), columns=columns)


# --- pyarrow.fs.S3FileSystem --------------------------------------------------------------


def _raise_arrow_error(exc: OSError) -> None:
    text = str(exc)
    if isinstance(exc, FileNotFoundError) or "NoSuchKey" in text or "does not exist" in text:
        raise FileNotFoundError(text) from exc
    if "ACCESS_DENIED" in text or "AccessDenied" in text or "403" in text:
        raise PermissionError(text) from exc
    raise exc


class PyArrow(Adapter):
    name = "pyarrow"
    unsupported: ClassVar[dict[str, str]] = {
        USER_METADATA: "open_output_stream(metadata=) only takes a fixed set of system headers",
        IF_NONE_MATCH: "S3FileSystem has no conditional write",
        IF_MATCH: "S3FileSystem has no conditional write",
    }

    def __init__(self, endpoint: Endpoint, bucket: str, creds: Creds) -> None:
        super().__init__(endpoint, bucket, creds)
        self.fs = pafs.S3FileSystem(
            access_key=creds.access_key,
            secret_key=creds.secret_key,
            session_token=creds.token,
            endpoint_override=f"127.0.0.1:{endpoint.port}",
            scheme="http",
            region="auto",
            force_virtual_addressing=False,
            allow_bucket_creation=False,
            allow_bucket_deletion=False,
        )

    def _path(self, key: str) -> str:
        return f"{self.bucket}/{key}"

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        assert metadata is None
        headers = {} if content_type is None else {"Content-Type": content_type}
        try:
            with self.fs.open_output_stream(self._path(key), metadata=headers) as out:
                out.write(data)
        except OSError as exc:
            _raise_arrow_error(exc)

    def put_stream(self, key: str, chunks: Iterator[bytes]) -> None:
        with self.fs.open_output_stream(self._path(key)) as out:
            for chunk in chunks:
                out.write(chunk)

    def get(self, key: str) -> bytes:
        try:
            with self.fs.open_input_stream(self._path(key)) as inp:
                return bytes(inp.read())
        except OSError as exc:
            _raise_arrow_error(exc)
            raise

    def get_range(self, key: str, start: int, end: int) -> bytes:
        try:
            with self.fs.open_input_file(self._path(key)) as inp:
                return bytes(inp.read_at(end - start, start))
        except OSError as exc:
            _raise_arrow_error(exc)
            raise

    def stat(self, key: str) -> Stat | None:
        info = self.fs.get_file_info(self._path(key))
        if info.type != pafs.FileType.File:
            return None
        with self.fs.open_input_stream(self._path(key)) as inp:
            meta = inp.metadata()
        content_type = meta.get("Content-Type")
        etag = meta.get("ETag")
        return Stat(
            int(info.size or 0),
            None if etag is None else etag.decode().strip('"'),
            None if content_type is None else content_type.decode(),
        )

    def list(self, prefix: str) -> tuple[list[str], list[str]]:
        infos = self.fs.get_file_info(pafs.FileSelector(self._path(prefix.rstrip("/"))))
        strip = len(self.bucket) + 1
        keys = sorted(i.path[strip:] for i in infos if i.type == pafs.FileType.File)
        dirs = sorted(i.path[strip:] + "/" for i in infos if i.type == pafs.FileType.Directory)
        return keys, dirs

    def list_all(self, prefix: str) -> list[str]:
        selector = pafs.FileSelector(
            self._path(prefix.rstrip("/")), recursive=True, allow_not_found=True
        )
        try:
            infos = self.fs.get_file_info(selector)
        except OSError as exc:
            _raise_arrow_error(exc)
            raise
        strip = len(self.bucket) + 1
        return sorted(i.path[strip:] for i in infos if i.type == pafs.FileType.File)

    def delete(self, key: str) -> None:
        try:
            self.fs.delete_file(self._path(key))
        except OSError as exc:
            _raise_arrow_error(exc)

    def delete_prefix(self, prefix: str) -> None:
        try:
            # delete_dir, not delete_dir_contents: the latter leaves a `prefix/` marker.
            self.fs.delete_dir(self._path(prefix.rstrip("/")))
        except OSError as exc:
            _raise_arrow_error(exc)

    def copy(self, source: str, target: str) -> None:
        self.fs.copy_file(self._path(source), self._path(target))

    def write_parquet(self, key: str, table: pa.Table) -> None:
        pq.write_table(table, self._path(key), filesystem=self.fs)

    def read_parquet(self, key: str, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self._path(key), filesystem=self.fs, columns=columns)


# --- s3fs ---------------------------------------------------------------------------------


class S3Fs(Adapter):
    name = "s3fs"
    unsupported: ClassVar[dict[str, str]] = {
        PROJECTION: "its files read ahead in 50 MiB blocks, so a small Parquet file comes whole"
        " (its ranged GETs are checked by test_ranged_reads)",
    }

    def __init__(self, endpoint: Endpoint, bucket: str, creds: Creds) -> None:
        super().__init__(endpoint, bucket, creds)
        import s3fs

        self.fs = s3fs.S3FileSystem(
            key=creds.access_key,
            secret=creds.secret_key,
            token=creds.token,
            client_kwargs={"endpoint_url": endpoint.url, "region_name": "auto"},
            config_kwargs={"s3": {"addressing_style": "path"}},
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    def _path(self, key: str) -> str:
        return f"{self.bucket}/{key}"

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        extra: dict[str, Any] = {}
        if content_type is not None:
            extra["ContentType"] = content_type
        if metadata is not None:
            extra["Metadata"] = metadata
        self.fs.pipe_file(self._path(key), data, **extra)

    def put_stream(self, key: str, chunks: Iterator[bytes]) -> None:
        with self.fs.open(self._path(key), "wb", block_size=5 * MiB) as out:
            for chunk in chunks:
                out.write(chunk)

    def get(self, key: str) -> bytes:
        return bytes(self.fs.cat_file(self._path(key)))

    def get_range(self, key: str, start: int, end: int) -> bytes:
        return bytes(self.fs.cat_file(self._path(key), start=start, end=end))

    def stat(self, key: str) -> Stat | None:
        try:
            info = self.fs.info(self._path(key))
        except FileNotFoundError:
            return None
        if info["type"] != "file":
            return None
        return Stat(
            int(info["size"]),
            str(info["ETag"]).strip('"'),
            info.get("ContentType"),
            dict(self.fs.metadata(self._path(key))),
        )

    def list(self, prefix: str) -> tuple[list[str], list[str]]:
        entries = self.fs.ls(self._path(prefix.rstrip("/")), detail=True)
        strip = len(self.bucket) + 1
        keys = sorted(e["name"][strip:] for e in entries if e["type"] == "file")
        dirs = sorted(e["name"][strip:] + "/" for e in entries if e["type"] == "directory")
        return keys, dirs

    def list_all(self, prefix: str) -> list[str]:
        strip = len(self.bucket) + 1
        return sorted(p[strip:] for p in self.fs.find(self._path(prefix.rstrip("/"))))

    def delete(self, key: str) -> None:
        self.fs.rm_file(self._path(key))

    def delete_prefix(self, prefix: str) -> None:
        self.fs.rm(self._path(prefix.rstrip("/")), recursive=True)

    def copy(self, source: str, target: str) -> None:
        self.fs.copy(self._path(source), self._path(target))

    def put_if_absent(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(self._path(key), data, mode="create")

    def put_if_match(self, key: str, data: bytes, etag: str) -> None:
        try:
            self.fs.pipe_file(self._path(key), data, IfMatch=f'"{etag}"')
        except OSError as exc:
            # s3fs maps a failed If-Match to a plain EINVAL OSError.
            if "Precondition" in str(exc) or "did not hold" in str(exc):
                raise FileExistsError(str(exc)) from exc
            raise

    def write_parquet(self, key: str, table: pa.Table) -> None:
        pq.write_table(table, self._path(key), filesystem=self.fs)

    def read_parquet(self, key: str, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self._path(key), filesystem=self.fs, columns=columns)


# --- DuckDB httpfs ------------------------------------------------------------------------


class DuckDB(Adapter):
    """DuckDB through its httpfs extension: what SQL can say about S3 objects.

    DuckDB writes files with `COPY … TO 's3://…'` (always a multipart upload), reads
    bytes with `read_blob`, Parquet with `read_parquet` (ranged GETs), lists with
    `glob`, and deletes a directory's objects with `COPY … (OVERWRITE)`.  Bodies must
    be text ending in a newline: a one-value CSV without quoting writes exactly that.
    """

    name = "duckdb"
    unsupported: ClassVar[dict[str, str]] = {
        RANGE: "SQL has no byte-range read (read_parquet's ranged GETs are checked by"
        " test_reading_one_parquet_column_fetches_part_of_the_file)",
        CONTENT_TYPE: "COPY TO sets no Content-Type and nothing in SQL reads it back",
        USER_METADATA: "COPY TO sets no x-amz-meta-* headers",
        DELIMITER: "glob() returns keys only, never common prefixes",
        DELETE_KEY: "SQL can only delete a directory's objects (COPY … OVERWRITE)",
        COPY: "SQL has no server-side copy",
        IF_NONE_MATCH: "COPY TO has no conditional write",
        IF_MATCH: "COPY TO has no conditional write",
    }

    def __init__(self, endpoint: Endpoint, bucket: str, creds: Creds) -> None:
        super().__init__(endpoint, bucket, creds)
        import duckdb

        self._duckdb = duckdb
        self.con = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        self.con.execute(f"LOAD '{extension_path('httpfs')}'")
        token = f", SESSION_TOKEN '{creds.token}'" if creds.token else ""
        self.con.execute(
            f"CREATE SECRET icefloe (TYPE S3, KEY_ID '{creds.access_key}', "
            f"SECRET '{creds.secret_key}'{token}, ENDPOINT '127.0.0.1:{endpoint.port}', "
            "URL_STYLE 'path', USE_SSL false, REGION 'auto')"
        )
        # 5 MiB parts (the S3 minimum), so a 16 MiB file is several parts.
        self.con.execute("SET s3_uploader_max_filesize = '50GB'")

    def close(self) -> None:
        self.con.close()

    def _url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _sql(self, sql: str, params: list[Any] | None = None) -> Any:
        try:
            return self.con.execute(sql, params or [])
        except self._duckdb.Error as exc:
            text = str(exc)
            if "404" in text or "No files found" in text or "not found" in text.lower():
                raise FileNotFoundError(text) from exc
            if "403" in text or "Access Denied" in text or "AccessDenied" in text:
                raise PermissionError(text) from exc
            raise

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        assert content_type is None and metadata is None
        assert data.endswith(b"\n"), "DuckDB writes text bodies ending in a newline"
        self._sql(
            f"COPY (SELECT ?::VARCHAR AS body) TO '{self._url(key)}' "
            "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '')",
            [data[:-1].decode("utf-8")],
        )

    def put_stream(self, key: str, chunks: Iterator[bytes]) -> None:
        self.put(key, b"".join(chunks))

    def get(self, key: str) -> bytes:
        row = self._sql(f"SELECT content FROM read_blob('{self._url(key)}')").fetchone()
        return bytes(row[0])

    def stat(self, key: str) -> Stat | None:
        try:
            row = self._sql(f"SELECT size FROM read_blob('{self._url(key)}')").fetchone()
        except FileNotFoundError:
            return None
        return Stat(int(row[0]))

    def list_all(self, prefix: str) -> list[str]:
        rows = self._sql(f"SELECT file FROM glob('{self._url(prefix)}**')").fetchall()
        strip = len(f"s3://{self.bucket}/")
        return sorted(str(r[0])[strip:] for r in rows)

    def delete_prefix(self, prefix: str) -> None:
        # Writing nothing into a directory with OVERWRITE deletes what was there.
        self._sql(
            "COPY (SELECT 1 AS x, 1 AS part WHERE false) "
            f"TO '{self._url(prefix.rstrip('/'))}' "
            "(FORMAT parquet, PARTITION_BY (part), OVERWRITE true)"
        )

    def write_parquet(self, key: str, table: pa.Table) -> None:
        self.con.register("icefloe_source", table)
        try:
            self._sql(f"COPY icefloe_source TO '{self._url(key)}' (FORMAT parquet)")
        finally:
            self.con.unregister("icefloe_source")

    def read_parquet(self, key: str, columns: list[str] | None = None) -> pa.Table:
        selected = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
        result: pa.Table = self._sql(
            f"SELECT {selected} FROM read_parquet('{self._url(key)}')"
        ).to_arrow_table()
        return result


ADAPTERS: dict[str, type[Adapter]] = {a.name: a for a in (Boto3, PyArrow, S3Fs, DuckDB)}
