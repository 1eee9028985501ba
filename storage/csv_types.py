"""Column types that hold for a whole CSV read block by block with pyarrow (file_service, analytics_service),
and its column count, read off its header line before pyarrow parses anything.

pyarrow infers each column's type from the first block. When a later block
disagrees (a number column with "n/a" written as "-", an id that turns
alphanumeric), the reader starts over with that column widened: integer to
float if the odd value is a number, otherwise to text. That is the type
pandas would give the column reading the whole file. Each column can widen at
most twice, so a file is read at most a few times, and usually once.

Needs pyarrow, which only the services that read CSVs install.
"""

from __future__ import annotations

import re
from typing import BinaryIO

import pyarrow as pa
from pyarrow import csv

HEADER_MAX_BYTES = 1024 * 1024
"""A header line longer than this is refused: a thousand names of a thousand bytes each fit."""
_HEADER_CHUNK = 64 * 1024
# The header line: unquoted text and whole quoted names, which may hold line breaks (pyarrow allows them there).
_HEADER_LINE = re.compile(rb'(?:[^"\r\n]+|"[^"]*")*')
_QUOTED = re.compile(rb'"[^"]*"')

# pandas' default markers, so that results agree with what pandas would read.
NULL_MARKERS = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip

_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): .*CSV conversion error to \w+: invalid value '(.*)'", re.S)


def convert_options(column_types: dict[str, pa.DataType], **options: object) -> csv.ConvertOptions:
    """Null markers and empty cells read as pandas reads them, and the column types found so far imposed."""
    return csv.ConvertOptions(
        column_types=column_types,
        null_values=NULL_MARKERS,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        **options,
    )


def widen(error: pa.ArrowInvalid, schema: pa.Schema, column_types: dict[str, pa.DataType]) -> bool:
    """Widen, in `column_types`, the column that `error` found a value too wide for.

    `schema` is the file's as read with `column_types`, all columns in file
    order (the error names a column by its position in the file). False when
    the error is not about a column's type, or the column is text already: the
    file is unreadable, not wider.
    """
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


def header_columns(file: BinaryIO, max_bytes: int = HEADER_MAX_BYTES) -> int | None:
    """How many columns the CSV's first line names, or None when that line is longer than `max_bytes`.

    Reads at most `max_bytes` and a byte more. pyarrow builds a parser and a
    column for every name of the header as it opens the file, before any cap
    can be checked: 100,000 names in under a megabyte cost a gigabyte.
    """
    head = b""
    end = 0  # how far the header line is known to go
    while True:
        end = _HEADER_LINE.match(head, end).end()  # type: ignore[union-attr]  # it matches the empty string
        if head[end : end + 1] in (b"\r", b"\n"):
            return _count_columns(head[:end])
        if len(head) > max_bytes:
            return None
        chunk = file.read(min(_HEADER_CHUNK, max_bytes + 1 - len(head)))
        if not chunk:
            return _count_columns(head)  # the whole file is its header line
        head += chunk


def _count_columns(line: bytes) -> int:
    # Commas inside quotes separate nothing; a quote left open counts its commas (too many, never too few).
    return _QUOTED.sub(b"", line).count(b",") + 1
