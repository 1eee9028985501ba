"""The file service's CSVs: read by the one CSV reader (`tabular`), under CSV_MAX_COLUMNS.

A file the reader cannot parse is `Unreadable`, whichever step of an
operation pyarrow refuses it at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pyarrow as pa

from file_service.errors import Unreadable
from file_service.source import Source
from runtime.errors import TooLarge
from tabular import CsvTable, read_csv

T = TypeVar("T")

# pyarrow parses several blocks at once across its threads: 1 MiB blocks kept
# a service's peak memory ~70 MB above its idle size here, 4 MiB ones ~160 MB.
BLOCK_SIZE = 1024 * 1024


def scan_csv(source: Source, max_columns: int, scan: Callable[[CsvTable], T]) -> T:
    """Run `scan` over the file's batches, from the start again whenever a column must be widened."""

    def check_columns(columns: int) -> None:
        if columns > max_columns:
            raise TooLarge(f"{columns} columns, more than CSV_MAX_COLUMNS ({max_columns})")

    try:
        return read_csv(
            lambda: source.storage.open_read(source.file.key),
            source.file.size,
            source.meter,
            scan,
            block_bytes=BLOCK_SIZE,
            check_columns=check_columns,
        )
    except pa.ArrowInvalid as error:
        raise Unreadable(f"not a readable CSV: {error}") from error
