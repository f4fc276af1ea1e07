"""pyiceberg's `read_manifest_list`, with the Avro readers it builds kept per file schema.

A commit's containment check reads each new snapshot's manifest list. pyiceberg decodes the
file's header, converts the Avro schema it holds into an Iceberg schema and resolves a reader
tree for it on every read: ~0.8 ms of CPU, nearly all of what a small list costs, and the same
work for every list a writer produces (the schema depends on the format version and the
writer's library, not on the table). The readers keep no state between reads (each read makes
new structs), so those resolved for a schema are kept by the schema's text and shared by every
read and thread. The rest is pyiceberg's `AvroFile` as it is: blocks, codecs, sync markers.
"""

from __future__ import annotations

from collections.abc import Iterator

from pyiceberg.avro.decoder import new_decoder
from pyiceberg.avro.file import META_SCHEMA, AvroFile, AvroFileHeader
from pyiceberg.avro.reader import Reader
from pyiceberg.avro.resolver import construct_reader, resolve_reader
from pyiceberg.io import InputFile
from pyiceberg.manifest import (
    DEFAULT_READ_VERSION,
    MANIFEST_LIST_FILE_SCHEMAS,
    ManifestContent,
    ManifestFile,
    PartitionFieldSummary,
)
from pyiceberg.schema import Schema

SCHEMA_KEY = "avro.schema"
#: Distinct file schemas kept; lists of any other schema are read as pyiceberg reads them.
MAX_SCHEMAS = 64

_HEADER = construct_reader(META_SCHEMA, {-1: AvroFileHeader})
_READERS: dict[str, tuple[Schema, Reader]] = {}


class _ManifestListFile(AvroFile[ManifestFile]):
    def __enter__(self) -> _ManifestListFile:
        with self.input_file.open() as f:
            self.decoder = new_decoder(f.read())
        self.header = _HEADER.read(self.decoder)
        text = self.header.meta.get(SCHEMA_KEY)
        resolved = _READERS.get(text) if text is not None else None
        if resolved is None:
            schema = self.header.get_schema()  # raises for a file without one
            read_schema = self.read_schema or schema
            reader = resolve_reader(schema, read_schema, self.read_types, self.read_enums)
            resolved = (schema, reader)
            if text is not None and len(_READERS) < MAX_SCHEMAS:
                _READERS[text] = resolved
        self.schema, self.reader = resolved
        return self


def read_manifest_list(input_file: InputFile) -> Iterator[ManifestFile]:
    """What `pyiceberg.manifest.read_manifest_list` yields for `input_file`."""
    with _ManifestListFile(
        input_file,
        MANIFEST_LIST_FILE_SCHEMAS[DEFAULT_READ_VERSION],
        read_types={-1: ManifestFile, 508: PartitionFieldSummary},
        read_enums={517: ManifestContent},
    ) as reader:
        yield from reader
