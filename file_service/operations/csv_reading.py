"""A CSV as a stream of Arrow record batches, with types that hold for the whole file.

When a later block does not fit a column's inferred type, the scan starts over
with that column widened (see `storage.csv_types`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pyarrow as pa
from pyarrow import csv

from file_service.errors import Unreadable
from file_service.source import Source
from runtime.errors import TooLarge
from storage.csv_types import HEADER_MAX_BYTES, convert_options, header_columns, widen

T = TypeVar("T")

# pyarrow parses several blocks at once across its threads: 1 MiB blocks kept
# a service's peak memory ~70 MB above its idle size here, 4 MiB ones ~160 MB.
BLOCK_SIZE = 1024 * 1024


def scan_csv(source: Source, max_columns: int, scan: Callable[[csv.CSVStreamingReader], T]) -> T:
    """Run `scan` over the file's batches, starting over when a column must be widened."""
    check_header(source, max_columns)
    column_types: dict[str, pa.DataType] = {}
    first = True
    while True:
        file = source.open() if first else source.open_again()
        first = False
        with file:
            try:
                reader = csv.open_csv(
                    file,
                    read_options=csv.ReadOptions(block_size=BLOCK_SIZE),
                    convert_options=convert_options(column_types),
                )
            except pa.ArrowInvalid as error:
                raise Unreadable(f"not a readable CSV: {error}") from error
            if len(reader.schema) > max_columns:  # the parser's own count, should it differ from the header's
                raise TooLarge(f"{len(reader.schema)} columns, more than CSV_MAX_COLUMNS ({max_columns})")
            try:
                return scan(reader)
            except pa.ArrowInvalid as error:
                if not widen(error, reader.schema, column_types):
                    raise Unreadable(f"not a readable CSV: {error}") from error


def check_header(source: Source, max_columns: int) -> None:
    """Refuse a CSV with too many columns from its header line, before pyarrow spends memory on each."""
    with source.storage.open_read(source.file.key) as file:
        columns = header_columns(file)
    if columns is None:
        raise TooLarge(f"the header line is longer than {HEADER_MAX_BYTES} bytes")
    if columns > max_columns:
        raise TooLarge(f"{columns} columns, more than CSV_MAX_COLUMNS ({max_columns})")
