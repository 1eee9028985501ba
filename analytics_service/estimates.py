"""How large a table an operation will build, estimated before pandas builds it.

Most operations give at most the rows and columns they are given (filter,
sort, top_n, value_counts). The others can give far more than they read:

- a resample gives a row per period of its column's time span, whatever the
  rows: two records ten years apart at `1min` are five million rows;
- a pivot gives a column per distinct value, and a row per distinct index;
- a groupby gives up to eight aggregates a column;
- a select, describe or correlation may name a column many times, and a
  correlation gives a square table.

Each is estimated from its input (the time span, the distinct values), and
a table that would not fit the caps is refused as `too_large` before pandas
allocates it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from analytics_service.limits import Limits
from contracts.analysis import Correlation, Describe, GroupBy, Operation, Pivot, Resample, Select

STATISTICS = 8
"""The rows of a describe: count, mean, std, min, 25%, 50%, 75%, max."""
SHORTEST_PERIOD = {
    "min": pd.Timedelta(minutes=1),
    "h": pd.Timedelta(hours=1),
    "D": pd.Timedelta(hours=23),  # a day with a daylight-saving change, in a column with a time zone
    "W": pd.Timedelta(days=7) - pd.Timedelta(hours=1),
    "MS": pd.Timedelta(days=28) - pd.Timedelta(hours=1),
    "ME": pd.Timedelta(days=28) - pd.Timedelta(hours=1),
    "QS": pd.Timedelta(days=89) - pd.Timedelta(hours=1),
    "YS": pd.Timedelta(days=365) - pd.Timedelta(hours=1),
}
"""The shortest each unit of `every` can be, so that the count of periods is never underestimated."""
EVERY = re.compile(r"(\d+)(\D+)")

Shape = tuple[int, int]


def check_output(frame: pd.DataFrame, operation: Operation, limits: Limits) -> None:
    """Refuse `operation` on `frame` as too_large if the table it would build does not fit the caps."""
    estimate = BOUNDS.get(operation.op)
    if estimate is None:
        return  # never more rows or columns than it is given
    rows, columns = estimate(frame, operation)
    exact = EXACT_ROWS.get(operation.op)
    if exact is not None and not limits.output_fits(rows, columns):
        rows = exact(frame, operation)  # the bound was too rough to decide: count, which costs a pass
    limits.check_output(operation.op, rows, columns)


def _select(frame: pd.DataFrame, op: Select) -> Shape:
    return len(frame), len(op.columns)


def _describe(frame: pd.DataFrame, op: Describe) -> Shape:
    if op.columns is None:
        return STATISTICS, len(frame.columns) + 1
    return max(len(frame), STATISTICS), len(op.columns) + 1  # the named columns are copied out first


def _correlation(frame: pd.DataFrame, op: Correlation) -> Shape:
    named = len(op.columns) if op.columns is not None else len(frame.columns)
    rows = named if op.columns is None else max(len(frame), named)  # named columns are copied out first
    return rows, named + 1


def _aggregates(aggregations: dict[str, Any]) -> int:
    return sum(len(wanted) for wanted in aggregations.values())


def _groupby(frame: pd.DataFrame, op: GroupBy) -> Shape:
    return len(frame), len(op.by) + _aggregates(op.aggregations)


def _groups(frame: pd.DataFrame, op: GroupBy | Pivot) -> int:
    keys = list(op.by) if isinstance(op, GroupBy) else list(op.index)
    return frame.groupby(keys, sort=False, dropna=True, observed=True).ngroups


def _pivot(frame: pd.DataFrame, op: Pivot) -> Shape:
    return len(frame), len(op.index) + int(frame[op.columns].nunique(dropna=True))


def _resample(frame: pd.DataFrame, op: Resample) -> Shape:
    return _periods(frame[op.on], op.every), 1 + _aggregates(op.aggregations)


def _periods(times: pd.Series, every: str) -> int:
    """At least as many as the periods of `every` from the first time to the last."""
    first, last = times.min(), times.max()
    if pd.isna(first) or pd.isna(last):
        return 0
    count, unit = EVERY.fullmatch(every).groups()  # type: ignore[union-attr]  # the contract's pattern
    return int((last - first) / (int(count) * SHORTEST_PERIOD[unit])) + 2


BOUNDS: dict[str, Callable[[pd.DataFrame, Any], Shape]] = {
    "select": _select,
    "describe": _describe,
    "correlation": _correlation,
    "groupby": _groupby,
    "pivot": _pivot,
    "resample": _resample,
}
"""Rows and columns an operation builds at most; cheap to compute."""
EXACT_ROWS: dict[str, Callable[[pd.DataFrame, Any], int]] = {"groupby": _groups, "pivot": _groups}
"""The rows, counted: for when the bound alone would refuse."""
