"""A result table as JSON for the job, or as files in storage when it is large.

JSON encoding (documented in docs/tasks/analytics.md):

- missing values (NaN, None, NaT, pd.NA) are `null`;
- infinities are the strings `"Infinity"` and `"-Infinity"` (JSON has no
  literal for them, and a string keeps them apart from missing values; see
  `contracts.result_numbers`, which file_service's statistics follow too);
- datetimes are ISO 8601 strings, with their UTC offset when the column has
  a time zone; dates are `YYYY-MM-DD`; durations are ISO 8601 durations;
- numpy numbers become JSON numbers; anything else becomes its text.

The CSV file is safe to open in a spreadsheet (OWASP's advice against
formula injection): every text cell, header included, is quoted, so no line
break inside a cell can start a row; and a `'` goes before every line of a
text cell that could start a formula, that is whose first character, past
any blanks and control characters, is `=`, `+`, `-` or `@` (or their
full-width forms), unless the cell is a plain number. A line is what follows
the cell's start or any line break (CR, LF, and the rarer ones Unicode
knows: a naive reader may split on them).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types

from contracts.result_numbers import json_number
from storage import Storage

FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
"""What a spreadsheet takes as the start of a formula; some take the full-width forms too."""
LINE_BREAK = re.compile(r"(\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])")
"""Every line break `str.splitlines` knows, CRLF as one."""
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
HARMLESS = re.compile(r"[!-*,./-<>?A-~][^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*")
"""Most cells: a visible ASCII start that opens no formula, and one line. They need no closer look."""
PREVIEW_ROWS = 10


def json_value(value: Any) -> Any:
    """One cell as a JSON-safe value (see the module's docstring)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return pd.Timedelta(value).isoformat()
    if isinstance(value, list | tuple | np.ndarray):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    return str(value)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [str(name) for name in frame.columns]
    cells = [[json_value(value) for value in frame[name].tolist()] for name in frame.columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*cells, strict=True)] if columns else []


def inline_result(frame: pd.DataFrame, max_rows: int, max_bytes: int) -> dict[str, Any] | None:
    """The result with its records, or None when it is too big to travel on the job."""
    if len(frame) > max_rows:
        return None
    records = json_records(frame)
    if len(json.dumps(records, separators=(",", ":"))) > max_bytes:
        return None
    return {**_shape(frame), "records": records}


def file_result(frame: pd.DataFrame, storage: Storage, prefix: str) -> dict[str, Any]:
    """Write the table as Parquet and as CSV under `prefix`; the job gets their keys and a preview.

    Keys, not URLs: a URL would tell clients where the storage root is on this host.
    """
    files = {}
    for suffix, write in (("parquet", _write_parquet), ("csv", _write_csv)):
        key = f"{prefix}/result.{suffix}"
        with storage.translate_errors(key), storage.open_write(key) as file:
            write(frame, file)
        files[suffix] = storage.key(key)
    return {**_shape(frame), "files": files, "preview": json_records(frame.head(PREVIEW_ROWS))}


def _shape(frame: pd.DataFrame) -> dict[str, Any]:
    return {"rows": len(frame), "columns": [str(name) for name in frame.columns]}


def _write_parquet(frame: pd.DataFrame, file: Any) -> None:
    frame.to_parquet(file, engine="pyarrow", index=False, compression="zstd")


def _write_csv(frame: pd.DataFrame, file: Any) -> None:
    # Every text cell quoted: a line break inside one (a CR too, which the
    # csv module leaves bare when rows end in LF) cannot start a new row.
    formula_safe(frame).to_csv(file, index=False, mode="wb", encoding="utf-8", quoting=csv.QUOTE_NONNUMERIC)


def formula_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and header) cannot start a spreadsheet formula; numbers stay numbers."""
    safe = frame.copy(deep=False)  # the columns that change are replaced, never written to
    safe.columns = [neutralise(str(name)) for name in frame.columns]
    for position, name in enumerate(frame.columns):
        column = frame[name]
        if types.is_numeric_dtype(column.dtype) or types.is_datetime64_any_dtype(column.dtype):
            continue
        safe.isetitem(position, column.map(_neutralise_cell, na_action="ignore"))
    return safe


def neutralise(text: str) -> str:
    """`text` with a `'` before each of its lines that could start a formula, unless it is a plain number."""
    if HARMLESS.fullmatch(text) or PLAIN_NUMBER.fullmatch(text):
        return text
    pieces = LINE_BREAK.split(text)  # lines at even positions, the breaks between them at odd ones
    pieces[::2] = ["'" + line if _opens_formula(line) else line for line in pieces[::2]]
    return "".join(pieces)


def _opens_formula(line: str) -> bool:
    # Spreadsheets skip leading blanks and control characters, so a formula may hide behind them.
    for char in line:
        if char in FORMULA_START:
            return True
        if not _invisible(char):
            return False
    return False


def _invisible(char: str) -> bool:
    """Blank, or a control, format or unassigned character: what a reader may skip before a cell's text."""
    return char.isspace() or unicodedata.category(char)[0] in "CZ"


def _neutralise_cell(value: Any) -> Any:
    return neutralise(value) if isinstance(value, str) else value
