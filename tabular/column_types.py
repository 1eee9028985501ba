"""Column types that hold for a whole CSV read block by block with pyarrow.

pyarrow infers each column's type from the first block. When a later block
disagrees (a number column with "n/a" written as "-", an id that turns
alphanumeric), the column is widened: integer to float if the odd value is a
number, otherwise to text. That is the type pandas would give the column
reading the whole file. Each column can widen at most twice, so a file is read
at most a few times, and usually once (`tabular.reading` starts the reads over).
"""

from __future__ import annotations

import re

import pyarrow as pa
from pyarrow import csv

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
