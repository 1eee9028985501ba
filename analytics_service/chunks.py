"""Pipelines that can run one batch of rows at a time, holding only what they reduce to.

A pipeline qualifies when it starts with row-wise operations (filters and
selects) followed by one of:

- a `groupby` whose aggregations are all decomposable (count, sum, mean,
  min, max): each batch gives partial aggregates per group, merged as they
  pile up (a mean is a merged sum over a merged count);
- a `describe` of numeric columns: each batch adds its non-null values as
  float64 arrays (8 bytes a value, the quartiles need them all), from which
  the statistics are computed once at the end, as pandas does;
- nothing: the filtered rows are the result.

Whatever follows runs on the reduced table as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from contracts.analysis import Describe, Filter, GroupBy, Operation, Select
from contracts.pipeline_check import Kind, Schema

DECOMPOSABLE = {"count", "sum", "mean", "min", "max"}
COMPACT_EVERY = 16
"""Partial aggregates are merged once this many have piled up."""
STATISTICS = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"]


class Reducer(Protocol):
    def add(self, frame: pd.DataFrame) -> None: ...

    @property
    def nbytes(self) -> int: ...

    def result(self) -> pd.DataFrame: ...


@dataclass(frozen=True)
class ChunkPlan:
    row_operations: list[Operation]
    reducer: Reducer
    rest: list[Operation]
    rest_start: int
    """The index of `rest[0]` in the whole pipeline, for error messages."""


def chunk_plan(schema: Schema, operations: Sequence[Operation]) -> ChunkPlan | None:
    """How to run the pipeline in batches, or None when it needs all rows at once."""
    columns = dict(schema)
    split = 0
    while split < len(operations) and isinstance(operations[split], Filter | Select):
        if isinstance(select := operations[split], Select):
            columns = {name: columns[name] for name in select.columns}
        split += 1
    rows, rest = list(operations[:split]), list(operations[split + 1 :])
    if split == len(operations):
        return ChunkPlan(rows, Rows(), [], split)
    reducer = _reducer(columns, operations[split])
    return ChunkPlan(rows, reducer, rest, split + 1) if reducer is not None else None


def _reducer(columns: Schema, operation: Operation) -> Reducer | None:
    if isinstance(operation, GroupBy):
        numeric = all(
            set(wanted) <= DECOMPOSABLE and (columns[column] in (Kind.number, Kind.boolean) or set(wanted) <= {"count"})
            for column, wanted in operation.aggregations.items()
        )
        return GroupByInChunks(operation) if numeric else None
    if isinstance(operation, Describe):
        described = operation.columns or [name for name, kind in columns.items() if kind == Kind.number]
        if described and all(columns[name] == Kind.number for name in described):
            return DescribeInChunks(list(described))
    return None


class Rows:
    """No reduction: the rows that pass the filters, kept."""

    def __init__(self) -> None:
        self._frames: list[pd.DataFrame] = []
        self.nbytes = 0

    def add(self, frame: pd.DataFrame) -> None:
        self._frames.append(frame)
        self.nbytes += int(frame.memory_usage(deep=False).sum())

    def result(self) -> pd.DataFrame:
        return pd.concat(self._frames, ignore_index=True) if len(self._frames) > 1 else self._frames[0]


class GroupByInChunks:
    # What each aggregation keeps per group, and how two partials of it merge.
    PARTS = {"count": ["count"], "sum": ["sum"], "mean": ["sum", "count"], "min": ["min"], "max": ["max"]}
    MERGE = {"count": "sum", "sum": "sum", "min": "min", "max": "max"}

    def __init__(self, operation: GroupBy) -> None:
        self._op = operation
        self._by = list(operation.by)
        self._parts = {
            f"{column}\0{part}": (column, part)
            for column, wanted in operation.aggregations.items()
            for aggregation in wanted
            for part in self.PARTS[aggregation]
        }
        self._partials: list[pd.DataFrame] = []
        self._merged_bytes = 0

    def add(self, frame: pd.DataFrame) -> None:
        groups = frame.groupby(self._by, sort=False, dropna=True, observed=True)
        self._partials.append(groups.agg(**self._parts))
        if len(self._partials) >= COMPACT_EVERY:
            self._compact()

    @property
    def nbytes(self) -> int:
        return sum(int(partial.memory_usage(deep=False).sum()) for partial in self._partials)

    def _compact(self) -> None:
        stacked = pd.concat(self._partials)
        merge = {name: self.MERGE[part] for name, (_, part) in self._parts.items()}
        levels = list(range(len(self._by)))
        self._partials = [stacked.groupby(level=levels, sort=False, observed=True).agg(merge)]

    def result(self) -> pd.DataFrame:
        self._compact()
        [merged] = self._partials
        merged = merged.sort_index()
        table = pd.DataFrame(index=merged.index)
        for column, wanted in self._op.aggregations.items():
            for aggregation in wanted:
                if aggregation == "mean":
                    value = merged[f"{column}\0sum"] / merged[f"{column}\0count"]
                else:
                    value = merged[f"{column}\0{aggregation}"]
                table[f"{column}_{aggregation}"] = value
        table.index.names = self._by
        return table.reset_index()


class DescribeInChunks:
    def __init__(self, columns: list[str]) -> None:
        self._columns = columns
        self._values: dict[str, list[np.ndarray]] = {name: [] for name in columns}
        self.nbytes = 0

    def add(self, frame: pd.DataFrame) -> None:
        for name in self._columns:
            values = frame[name].to_numpy(dtype="float64", na_value=np.nan)
            values = values[~np.isnan(values)]
            self._values[name].append(values)
            self.nbytes += values.nbytes

    def result(self) -> pd.DataFrame:
        # One column at a time, its parts let go once joined: the peak is the parts plus one column.
        statistics = {name: _statistics(np.concatenate(self._values.pop(name))) for name in self._columns}
        table = pd.DataFrame(statistics, index=pd.Index(STATISTICS, name="statistic"))
        return table.reset_index()


def _statistics(values: np.ndarray) -> list[float]:
    count = len(values)
    if count == 0:
        return [0.0] + [np.nan] * 7
    mean, lowest, highest = float(np.mean(values)), float(values.min()), float(values.max())
    std = float(np.std(values, ddof=1)) if count > 1 else np.nan
    # Last, and in place: the array is ours, and a copy of it would cost as much again.
    low, median, high = np.percentile(values, [25, 50, 75], overwrite_input=True)
    return [float(count), mean, std, lowest, low, median, high, highest]
