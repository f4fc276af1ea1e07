"""pyiceberg's `read_manifest_list` and manifest reader, with the Avro readers they build kept
per file schema.

A commit's containment check reads each new snapshot's manifest list and the manifests it
adds. pyiceberg decodes the file's header, converts the Avro schema it holds into an Iceberg
schema and resolves a reader tree for it on every read: ~0.8 ms of CPU for a list, ~1.5 ms for
a manifest, nearly all of what a small file costs, and the same work for every file a writer
produces (a list's schema depends on the format version and the writer's library, a
manifest's on the table's partition spec too). The readers keep no state between reads (each
read makes new structs), so those resolved for a schema are kept by the schema's text and
shared by every read and thread. The rest is pyiceberg's `AvroFile` as it is: blocks, codecs,
sync markers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, TypeVar

from pyiceberg.avro.decoder import new_decoder
from pyiceberg.avro.file import META_SCHEMA, AvroFile, AvroFileHeader
from pyiceberg.avro.reader import Reader
from pyiceberg.avro.resolver import construct_reader, resolve_reader
from pyiceberg.io import InputFile
from pyiceberg.manifest import (
    DEFAULT_READ_VERSION,
    MANIFEST_ENTRY_SCHEMAS,
    MANIFEST_LIST_FILE_SCHEMAS,
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    PartitionFieldSummary,
)
from pyiceberg.schema import Schema
from pyiceberg.typedef import StructProtocol

SCHEMA_KEY = "avro.schema"
#: Distinct file schemas kept per kind of file; files of any other schema are read as
#: pyiceberg reads them.
MAX_SCHEMAS = 64

D = TypeVar("D", bound=StructProtocol)
Readers = dict[str, tuple[Schema, Reader]]  # by the file's schema text

_HEADER = construct_reader(META_SCHEMA, {-1: AvroFileHeader})


class _CachedReaderFile(AvroFile[D]):
    """`AvroFile` whose reader tree, once resolved for a file schema, is kept by the schema's
    text in its class's `readers` (each class reads one kind of file, with its own types)."""

    readers: ClassVar[Readers]

    def __enter__(self) -> _CachedReaderFile[D]:
        with self.input_file.open() as f:
            self.decoder = new_decoder(f.read())
        self.header = _HEADER.read(self.decoder)
        text = self.header.meta.get(SCHEMA_KEY)
        resolved = self.readers.get(text) if text is not None else None
        if resolved is None:
            schema = self.header.get_schema()  # raises for a file without one
            read_schema = self.read_schema or schema
            reader = resolve_reader(schema, read_schema, self.read_types, self.read_enums)
            resolved = (schema, reader)
            if text is not None and len(self.readers) < MAX_SCHEMAS:
                self.readers[text] = resolved
        self.schema, self.reader = resolved
        return self


class _ManifestListFile(_CachedReaderFile[ManifestFile]):
    readers: ClassVar[Readers] = {}

    def __init__(
        self,
        input_file: InputFile,
        read_schema: Schema = MANIFEST_LIST_FILE_SCHEMAS[DEFAULT_READ_VERSION],
    ) -> None:
        super().__init__(
            input_file,
            read_schema,
            read_types={-1: ManifestFile, 508: PartitionFieldSummary},
            read_enums={517: ManifestContent},
        )


class _ManifestFile(_CachedReaderFile[ManifestEntry]):
    readers: ClassVar[Readers] = {}

    def __init__(self, input_file: InputFile) -> None:
        super().__init__(
            input_file,
            MANIFEST_ENTRY_SCHEMAS[DEFAULT_READ_VERSION],
            read_types={-1: ManifestEntry, 2: DataFile},
            read_enums={0: ManifestEntryStatus, 101: FileFormat, 134: DataFileContent},
        )


def read_manifest_list(input_file: InputFile) -> Iterator[ManifestFile]:
    """What `pyiceberg.manifest.read_manifest_list` yields for `input_file`."""
    with _ManifestListFile(input_file) as reader:
        yield from reader


def read_manifest_entries(input_file: InputFile) -> Iterator[ManifestEntry]:
    """The entries of the manifest `input_file`, deleted ones included, as pyiceberg's
    `ManifestFile.fetch_manifest_entry` reads them before it fills in what an entry inherits
    from its manifest (sequence numbers, spec id)."""
    with _ManifestFile(input_file) as reader:
        yield from reader
