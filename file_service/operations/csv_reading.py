"""A CSV as a stream of Arrow record batches, with types that hold for the whole file.

pyarrow infers each column's type from the first block. When a later block
disagrees (a number column with "n/a" written as "-", an id that turns
alphanumeric), the scan starts over with that column widened: integer to
float if the odd value is a number, otherwise to text. Each column can widen
at most twice, so a file is read at most a few times, and usually once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import pyarrow as pa
from pyarrow import csv

from file_service.errors import TooLarge, Unreadable
from file_service.source import Source

T = TypeVar("T")

# pyarrow parses several blocks at once across its threads: 1 MiB blocks kept
# a service's peak memory ~70 MB above its idle size here, 4 MiB ones ~160 MB.
BLOCK_SIZE = 1024 * 1024

# pandas' default markers, so that statistics agree with what pandas would say.
NULL_MARKERS = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip

_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): .*CSV conversion error to \w+: invalid value '(.*)'", re.S)


def scan_csv(source: Source, max_columns: int, scan: Callable[[csv.CSVStreamingReader], T]) -> T:
    """Run `scan` over the file's batches, starting over when a column must be widened."""
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
                    convert_options=csv.ConvertOptions(
                        column_types=column_types,
                        null_values=NULL_MARKERS,
                        strings_can_be_null=True,
                        quoted_strings_can_be_null=True,
                    ),
                )
            except pa.ArrowInvalid as error:
                raise Unreadable(f"not a readable CSV: {error}") from error
            if len(reader.schema) > max_columns:
                raise TooLarge(f"{len(reader.schema)} columns, more than CSV_MAX_COLUMNS ({max_columns})")
            try:
                return scan(reader)
            except pa.ArrowInvalid as error:
                if not _widen(error, reader.schema, column_types):
                    raise Unreadable(f"not a readable CSV: {error}") from error


def _widen(error: pa.ArrowInvalid, schema: pa.Schema, column_types: dict[str, pa.DataType]) -> bool:
    """Widen the column the error names; False if the error is not about a column's type."""
    found = _CONVERSION_ERROR.search(str(error))
    if found is None:
        return False
    index, value = int(found.group(1)), found.group(2)
    name = schema.names[index]
    current = schema.field(index).type
    numeric = pa.types.is_integer(current) or pa.types.is_null(current)
    column_types[name] = pa.float64() if numeric and _is_number(value) else pa.string()
    return column_types[name] != current


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
