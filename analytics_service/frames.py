"""From records and Arrow data to pandas frames, and the kinds of their columns.

JSON has no datetime type, so a column of inline records whose every value is
an ISO 8601 string becomes a datetime column: aware (converted to UTC) when
every value carries an offset, naive when none does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
from pandas.api import types

from contracts.pipeline_check import ISO_DATE, Kind, Schema, combine, kind_of_value


def frame_from_records(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(records)) if records else pd.DataFrame()
    for name in frame.columns:
        parsed = _as_datetimes(frame[name])
        if parsed is not None:
            frame[name] = parsed
    return frame


def _as_datetimes(column: pd.Series) -> pd.Series | None:
    if not types.is_string_dtype(column.dtype):  # str, or object (which may hold strings)
        return None
    matches = [ISO_DATE.match(value) if isinstance(value, str) else None for value in column.dropna()]
    if not matches or not all(matches):
        return None
    offsets = {match.group(4) is not None for match in matches}
    if len(offsets) != 1:
        return None  # naive and aware times cannot share a column: leave it as text
    try:
        return pd.to_datetime(column, format="ISO8601", utc=offsets.pop())
    except (ValueError, OverflowError):
        return None


def schema_of_frame(frame: pd.DataFrame) -> Schema:
    return {str(name): _kind_of_column(frame[name]) for name in frame.columns}


def _kind_of_column(column: pd.Series) -> Kind:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _kind_of_column(pd.Series(dtype.categories)) if len(dtype.categories) else Kind.empty
    if types.is_bool_dtype(dtype):
        return Kind.boolean
    if types.is_numeric_dtype(dtype):
        return Kind.number
    if types.is_datetime64_any_dtype(dtype):
        return Kind.datetime
    if isinstance(dtype, pd.StringDtype):
        return Kind.text
    return combine(_kind_in_frame(value) for value in column.dropna())


def _kind_in_frame(value: Any) -> Kind:
    if isinstance(value, pd.Timestamp):
        return Kind.datetime
    kind = kind_of_value(value)
    # In a frame a string is text: the ISO strings that could be parsed already were.
    return Kind.text if kind == Kind.datetime else kind


def schema_of_arrow(schema: pa.Schema) -> Schema:
    return {field.name: _kind_of_arrow(field.type) for field in schema}


def _kind_of_arrow(data_type: pa.DataType) -> Kind:
    if pa.types.is_dictionary(data_type):
        return _kind_of_arrow(data_type.value_type)
    checks = (
        (pa.types.is_boolean, Kind.boolean),
        (lambda t: pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t), Kind.number),
        (lambda t: pa.types.is_timestamp(t) or pa.types.is_date(t), Kind.datetime),
        (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t), Kind.text),
        (pa.types.is_null, Kind.empty),
    )
    return next((kind for check, kind in checks if check(data_type)), Kind.nested)
