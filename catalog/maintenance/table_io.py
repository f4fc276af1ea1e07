"""The FileIO maintenance hands to pyiceberg: one table's files, and nothing else.

pyiceberg's scans, writers and snapshot producers reach files only through `Table.io`
(`new_input`, `new_output`, `delete`). Maintenance loads every table with a `ConfinedFileIO`,
so a manifest list, manifest, data, delete or statistics file that metadata names outside the
table's location is refused with `OutsideLocation` before any I/O, and what is inside is
reached with credentials vended for the table's prefix (see `catalog.service.table_storage`).
"""

from __future__ import annotations

import threading

from pyiceberg.io import FileIO, InputFile, OutputFile, load_file_io
from pyiceberg.table import Table

from catalog.service.table_storage import OutsideLocation, TableStorage

__all__ = ["ConfinedFileIO", "OutsideLocation", "TableStorage", "table_storage"]


class ConfinedFileIO(FileIO):
    def __init__(self, files: TableStorage) -> None:
        self.files = files
        self._lock = threading.Lock()
        self._inner: FileIO | None = None
        self._inner_properties: dict[str, str] | None = None
        super().__init__(files.file_io_properties())

    def _io(self) -> FileIO:
        """pyarrow's FileIO on the current credentials (built again after they are renewed)."""
        properties = self.files.file_io_properties()
        with self._lock:
            if self._inner is None or properties != self._inner_properties:
                self._inner = load_file_io(properties, self.files.location)
                self._inner_properties = properties
                self.properties = properties
            return self._inner

    def new_input(self, location: str) -> InputFile:
        self.files.check(location)
        return self._io().new_input(location)

    def new_output(self, location: str) -> OutputFile:
        self.files.check(location)
        return self._io().new_output(location)

    def delete(self, location: str | InputFile | OutputFile) -> None:
        path = location.location if isinstance(location, InputFile | OutputFile) else location
        self.files.check(path)
        self._io().delete(path)


def table_storage(table: Table) -> TableStorage:
    """The confined storage of a table loaded by the maintenance catalog."""
    if not isinstance(table.io, ConfinedFileIO):
        raise TypeError(f"{table.name()} was not loaded with a ConfinedFileIO")
    return table.io.files
