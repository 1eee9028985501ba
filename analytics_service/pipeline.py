"""Applying a declared pipeline to a frame: one small function per operation.

Every operation returns a plain table (a default index, string column
names), so that any operation can follow any other and the result is a list
of records. Aggregates are named `<column>_<aggregation>`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
from pandas.api import types

from analytics_service.estimates import check_output
from analytics_service.limits import Limits
from contracts.analysis import (
    Correlation,
    Describe,
    Filter,
    GroupBy,
    Operation,
    Pivot,
    Resample,
    Select,
    Sort,
    TopN,
    ValueCounts,
)
from runtime.errors import PermanentError


class PipelineFailed(PermanentError):
    """pandas refused an operation on this data; trying again will not change that."""


def run_pipeline(frame: pd.DataFrame, operations: Sequence[Operation], limits: Limits, start: int = 0) -> pd.DataFrame:
    """Apply `operations` in order, each checked against the caps first; `start` is the index of the first."""
    for index, operation in enumerate(operations, start):
        try:
            check_output(frame, operation, limits)
            frame = OPERATIONS[operation.op](frame, operation)
        except (KeyError, TypeError, ValueError, NotImplementedError) as error:
            raise PipelineFailed(f"operations[{index}] ({operation.op}): {type(error).__name__}: {error}") from error
    return frame


def _filter(frame: pd.DataFrame, op: Filter) -> pd.DataFrame:
    column = frame[op.column]
    if op.operator == "is_null":
        mask = column.isna()
    elif op.operator == "not_null":
        mask = column.notna()
    elif op.operator in ("in", "not_in"):
        values = [comparable(column, value) for value in op.value]  # type: ignore[union-attr]
        mask = column.isin(values)
        mask = ~mask if op.operator == "not_in" else mask
    else:
        mask = COMPARISONS[op.operator](column, comparable(column, op.value))
    # As in pandas, a null matches only '!=' (and 'not_in'); in nullable
    # columns a comparison with a null is pd.NA, and such rows are left out.
    return frame[mask.fillna(False).astype(bool)].reset_index(drop=True)


COMPARISONS: dict[str, Callable[[pd.Series, Any], pd.Series]] = {
    "==": lambda column, value: column == value,
    "!=": lambda column, value: column != value,
    "<": lambda column, value: column < value,
    "<=": lambda column, value: column <= value,
    ">": lambda column, value: column > value,
    ">=": lambda column, value: column >= value,
}


def comparable(column: pd.Series, value: Any) -> Any:
    """The JSON value as the column's type: an ISO string becomes a timestamp in the column's time zone."""
    if value is None or not types.is_datetime64_any_dtype(column.dtype):
        return value
    stamp = pd.Timestamp(value)
    zone = getattr(column.dtype, "tz", None)
    if zone is not None:
        return stamp.tz_localize(zone) if stamp.tzinfo is None else stamp.tz_convert(zone)
    if stamp.tzinfo is not None:
        raise ValueError(f"the column holds times without a time zone; compare it with one without ({value!r})")
    return stamp


def _select(frame: pd.DataFrame, op: Select) -> pd.DataFrame:
    return frame[list(op.columns)]


def _describe(frame: pd.DataFrame, op: Describe) -> pd.DataFrame:
    table = frame[list(op.columns)] if op.columns is not None else frame
    return _plain(table.describe().rename_axis("statistic"))


def _groupby(frame: pd.DataFrame, op: GroupBy) -> pd.DataFrame:
    groups = frame.groupby(list(op.by), sort=True, dropna=True, observed=True)
    return _plain(_flat(groups.agg(_as_lists(op.aggregations))))


def _pivot(frame: pd.DataFrame, op: Pivot) -> pd.DataFrame:
    table = frame.pivot_table(
        index=list(op.index), columns=op.columns, values=op.values, aggfunc=op.aggregation, observed=True
    )
    table.columns = [str(name) for name in table.columns]
    return _plain(table)


def _resample(frame: pd.DataFrame, op: Resample) -> pd.DataFrame:
    return _plain(_flat(frame.resample(op.every, on=op.on).agg(_as_lists(op.aggregations))))


def _sort(frame: pd.DataFrame, op: Sort) -> pd.DataFrame:
    ordered = frame.sort_values(list(op.by), ascending=not op.descending, kind="stable", na_position="last")
    return ordered.reset_index(drop=True)


def _top_n(frame: pd.DataFrame, op: TopN) -> pd.DataFrame:
    # Like nlargest/nsmallest (nulls dropped, ties in their original order), for text and times too.
    ranked = frame.dropna(subset=[op.column]).sort_values(op.column, ascending=not op.largest, kind="stable")
    return ranked.head(op.n).reset_index(drop=True)


def _value_counts(frame: pd.DataFrame, op: ValueCounts) -> pd.DataFrame:
    counts = frame[op.column].value_counts(normalize=op.normalize, dropna=True)
    if op.limit is not None:
        counts = counts.head(op.limit)
    return _plain(counts.to_frame())


def _correlation(frame: pd.DataFrame, op: Correlation) -> pd.DataFrame:
    if op.columns is not None:
        table = frame[list(op.columns)].corr(method=op.method)
    else:
        table = frame.corr(method=op.method, numeric_only=True)
    return _plain(table.rename_axis("column"))


def _as_lists(aggregations: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    return {column: list(wanted) for column, wanted in aggregations.items()}


def _flat(table: pd.DataFrame) -> pd.DataFrame:
    """`(amount, sum)` columns become `amount_sum`."""
    table.columns = [f"{column}_{aggregation}" for column, aggregation in table.columns]
    return table


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Index levels back into columns, and every column name a string."""
    table = table.reset_index()
    table.columns = [str(name) for name in table.columns]
    return table


OPERATIONS: dict[str, Callable[[pd.DataFrame, Any], pd.DataFrame]] = {
    "filter": _filter,
    "select": _select,
    "describe": _describe,
    "groupby": _groupby,
    "pivot": _pivot,
    "resample": _resample,
    "sort": _sort,
    "top_n": _top_n,
    "value_counts": _value_counts,
    "correlation": _correlation,
}
