"""Row count, column names, nulls per column, and min/max/mean of numeric columns, block by block."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from contracts.result_numbers import json_number
from file_service.operations.csv_reading import scan_csv
from file_service.source import Outcome, Source
from tabular import CsvTable


def csv_stats(source: Source, max_columns: int) -> Outcome:
    return Outcome(scan_csv(source, max_columns, _statistics))


class ColumnStats:
    def __init__(self, field: pa.Field) -> None:
        self.name = field.name
        self.type = field.type
        self.numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
        self.nulls = 0
        self.count = 0
        self.total = 0.0
        self.min: Any = None
        self.max: Any = None

    def add(self, column: pa.Array) -> None:
        self.nulls += column.null_count
        if not self.numeric or column.null_count == len(column):
            return
        self.count += len(column) - column.null_count
        self.total += pc.sum(column.cast(pa.float64())).as_py()
        bounds = pc.min_max(column)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {"name": self.name, "type": _type_name(self.type), "nulls": self.nulls}
        if self.numeric:
            mean = self.total / self.count if self.count else None
            # JSON has no infinities or NaN: written as every job's result writes them.
            summary |= {"min": json_number(self.min), "max": json_number(self.max), "mean": json_number(mean)}
        return summary


def _statistics(table: CsvTable) -> dict[str, Any]:
    columns = [ColumnStats(field) for field in table.schema]
    rows = 0
    for batch in table.batches():
        rows += batch.num_rows
        for column, stats in zip(batch.columns, columns, strict=True):
            stats.add(column)
    return {"rows": rows, "columns": [stats.summary() for stats in columns]}


def _type_name(arrow_type: pa.DataType) -> str:
    for is_kind, name in (
        (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "float"),
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_timestamp, "datetime"),
        (pa.types.is_date, "date"),
        (pa.types.is_time, "time"),
        (pa.types.is_null, "empty"),
    ):
        if is_kind(arrow_type):
            return name
    return "text"
