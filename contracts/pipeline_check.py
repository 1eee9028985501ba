"""Checking a declared pipeline against the columns it will meet, before running it.

Part of the contract, in plain Python (no pandas): the gateway runs it on
inline records (and answers 422), the service on a dataset's schema (and
fails the job permanently), and a direct publisher may run it too. Each
operation is checked against the columns the previous one leaves, so an error
names the operation's index and the column at fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from contracts.analysis import (
    Aggregation,
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


class Kind(StrEnum):
    """What a column holds, as far as the pipeline cares."""

    number = "number"
    boolean = "boolean"
    text = "text"
    datetime = "datetime"
    empty = "empty"
    """Only nulls: any operation accepts it."""
    mixed = "mixed"
    """Values of more than one kind (numbers and text, say): they cannot be ordered or summed."""
    nested = "nested"
    """Lists or objects: they cannot be grouped, compared or aggregated."""


Schema = dict[str, Kind]


class PipelineInvalid(ValueError):
    """An operation names a column that is not there, or asks something of it that its kind cannot give."""

    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(f"operations[{index}]: {message}")
        self.index = index
        self.field = field
        """The operation's field at fault (`column`, `by`, `aggregations`...), for the 422's `loc`."""


ORDERED_AGGREGATIONS = {"mean", "median", "std"}
"""Numbers and booleans have them, and so do datetimes (a datetime has a mean but no sum)."""

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def kind_of_value(value: Any) -> Kind:
    if value is None:
        return Kind.empty
    if isinstance(value, bool):
        return Kind.boolean
    if isinstance(value, int | float):
        return Kind.number
    if isinstance(value, str):
        return Kind.datetime if is_iso_datetime(value) else Kind.text
    return Kind.nested


def is_iso_datetime(text: str) -> bool:
    if not ISO_DATE.match(text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def combine(kinds: Iterable[Kind]) -> Kind:
    seen = set(kinds) - {Kind.empty}
    if not seen:
        return Kind.empty
    if Kind.nested in seen:
        return Kind.nested
    if seen == {Kind.datetime, Kind.text}:
        return Kind.text  # some strings merely look like dates
    return seen.pop() if len(seen) == 1 else Kind.mixed


def schema_of_records(records: Sequence[Mapping[str, Any]]) -> Schema:
    """Each column's kind across the records; a key missing from a record counts as null."""
    kinds: dict[str, set[Kind]] = {}
    for record in records:
        for name, value in record.items():
            kinds.setdefault(name, set()).add(kind_of_value(value))
    return {name: combine(found) for name, found in kinds.items()}


def check_pipeline(schema: Schema, operations: Sequence[Operation]) -> None:
    """Raise `PipelineInvalid` for the first operation that cannot run on what it is given."""
    current: Schema | None = dict(schema)
    for index, operation in enumerate(operations):
        if current is None:
            return  # after a pivot the columns are the data's values: pandas has the last word
        current = _CHECKS[operation.op](_Step(index, current), operation)


def source_columns(schema: Schema, operations: Sequence[Operation]) -> list[str]:
    """The dataset's columns the pipeline reads, in the dataset's order: the only ones worth loading."""
    needed: set[str] = set()
    current = list(schema)
    for operation in operations:
        reads = _reads(operation)
        needed.update(current if reads is None else [name for name in reads if name in current])
        if isinstance(operation, Select):
            current = [name for name in operation.columns if name in current]
        elif not isinstance(operation, Filter | Sort | TopN):
            break  # a new table: what follows reads its columns, not the dataset's
    else:
        needed.update(current)  # the rows themselves are the result
    return [name for name in schema if name in needed]


def _reads(operation: Operation) -> list[str] | None:
    """The columns an operation reads; None for all of them."""
    match operation:
        case Filter(column=column) | TopN(column=column) | ValueCounts(column=column):
            return [column]
        case Select(columns=columns) | Sort(by=columns):
            return list(columns)
        case Describe(columns=columns) | Correlation(columns=columns):
            return None if columns is None else list(columns)
        case GroupBy(by=by, aggregations=aggregations):
            return [*by, *aggregations]
        case Pivot(index=index, columns=column, values=values):
            return [*index, column, values]
        case Resample(on=on, aggregations=aggregations):
            return [on, *aggregations]
    raise AssertionError(f"no column list for {operation.op}")


class _Step:
    def __init__(self, index: int, schema: Schema) -> None:
        self.index = index
        self.schema = schema

    def fail(self, field: str, message: str) -> PipelineInvalid:
        return PipelineInvalid(self.index, field, message)

    def kind(self, field: str, column: str) -> Kind:
        if column not in self.schema:
            known = ", ".join(repr(name) for name in self.schema) or "none"
            raise self.fail(field, f"unknown column {column!r} in {field!r}; the columns here are {known}")
        return self.schema[column]

    def orderable(self, field: str, column: str, doing: str) -> Kind:
        kind = self.kind(field, column)
        if kind in (Kind.mixed, Kind.nested):
            raise self.fail(field, f"cannot {doing} column {column!r}: it holds {_describe(kind)}")
        return kind

    def aggregated(self, field: str, column: str, aggregation: Aggregation) -> Kind:
        """The kind of the aggregate, or a type mismatch."""
        kind = self.kind(field, column)
        if aggregation == "count":
            return Kind.number
        if kind == Kind.nested:
            raise self.fail(field, f"cannot take the {aggregation} of column {column!r}: it holds {_describe(kind)}")
        if aggregation == "nunique":
            return Kind.number
        allowed = {Kind.number, Kind.boolean, Kind.empty}
        if aggregation in ORDERED_AGGREGATIONS:
            allowed.add(Kind.datetime)
        if aggregation in ("min", "max"):
            allowed |= {Kind.text, Kind.datetime}
        if kind not in allowed:
            raise self.fail(
                field,
                f"type mismatch: cannot take the {aggregation} of column {column!r}, which holds {_describe(kind)}",
            )
        if aggregation in ("min", "max") or (kind == Kind.datetime and aggregation != "std"):
            return kind
        return Kind.number

    def aggregations(self, aggregations: Mapping[str, Sequence[Aggregation]]) -> Schema:
        return {
            f"{column}_{aggregation}": self.aggregated("aggregations", column, aggregation)
            for column, wanted in aggregations.items()
            for aggregation in wanted
        }


def _describe(kind: Kind) -> str:
    return {
        Kind.number: "numbers",
        Kind.boolean: "booleans",
        Kind.text: "text",
        Kind.datetime: "datetimes",
        Kind.empty: "only nulls",
        Kind.mixed: "values of mixed types",
        Kind.nested: "lists or objects",
    }[kind]


def _check_filter(step: _Step, op: Filter) -> Schema:
    kind = step.kind("column", op.column)
    if op.operator in ("is_null", "not_null"):
        if op.value is not None:
            raise step.fail("value", f"{op.operator!r} takes no value")
        return step.schema
    if op.operator in ("in", "not_in"):
        if not isinstance(op.value, list):
            raise step.fail("value", f"{op.operator!r} needs a list of values")
        values = op.value
    else:
        if isinstance(op.value, list | dict) or op.value is None:
            raise step.fail("value", f"{op.operator!r} needs one value (use 'is_null' to find nulls)")
        values = [op.value]
    if op.operator in ("<", "<=", ">", ">="):
        step.orderable("column", op.column, f"compare with {op.operator!r}")
    for value in values:
        _check_comparable(step, op.column, kind, value)
    return step.schema


def _check_comparable(step: _Step, column: str, kind: Kind, value: Any) -> None:
    value_kind = kind_of_value(value)
    if kind in (Kind.empty, Kind.mixed) or value_kind == Kind.empty:
        return
    if value_kind == Kind.nested:
        raise step.fail("value", f"cannot compare column {column!r} with a list or object")
    fits = {
        Kind.number: {Kind.number},
        Kind.boolean: {Kind.boolean},
        Kind.text: {Kind.text, Kind.datetime},
        Kind.datetime: {Kind.datetime},
    }.get(kind, set())
    if value_kind not in fits:
        wanted = "an ISO 8601 date or time" if kind == Kind.datetime else _describe(kind)
        raise step.fail(
            "value",
            f"type mismatch: column {column!r} holds {_describe(kind)}, but the value {value!r} is not "
            f"comparable with it (give {wanted})",
        )


def _check_select(step: _Step, op: Select) -> Schema:
    return {column: step.kind("columns", column) for column in op.columns}


def _check_describe(step: _Step, op: Describe) -> Schema:
    columns = op.columns if op.columns is not None else list(step.schema)
    kinds = {column: step.kind("columns", column) for column in columns}
    for column, kind in kinds.items():
        if kind == Kind.nested:
            raise step.fail("columns", f"cannot describe column {column!r}: it holds {_describe(kind)}")
    numeric = all(kind == Kind.number for kind in kinds.values())
    return {"statistic": Kind.text, **{column: Kind.number if numeric else Kind.mixed for column in kinds}}


def _check_groupby(step: _Step, op: GroupBy) -> Schema:
    keys = {column: step.orderable("by", column, "group by") for column in op.by}
    return {**keys, **step.aggregations(op.aggregations)}


def _check_pivot(step: _Step, op: Pivot) -> None:
    for column in op.index:
        step.orderable("index", column, "pivot on")
    step.orderable("columns", op.columns, "pivot on")
    step.aggregated("values", op.values, op.aggregation)
    return None


def _check_resample(step: _Step, op: Resample) -> Schema:
    kind = step.kind("on", op.on)
    if kind != Kind.datetime:
        raise step.fail(
            "on",
            f"type mismatch: cannot resample on column {op.on!r}, which holds {_describe(kind)} "
            "(it needs datetimes, e.g. ISO 8601 strings)",
        )
    return {op.on: Kind.datetime, **step.aggregations(op.aggregations)}


def _check_sort(step: _Step, op: Sort) -> Schema:
    for column in op.by:
        step.orderable("by", column, "sort by")
    return step.schema


def _check_top_n(step: _Step, op: TopN) -> Schema:
    step.orderable("column", op.column, "rank by")
    return step.schema


def _check_value_counts(step: _Step, op: ValueCounts) -> Schema:
    kind = step.kind("column", op.column)
    if kind == Kind.nested:
        raise step.fail("column", f"cannot count the values of column {op.column!r}: it holds {_describe(kind)}")
    return {op.column: kind, "proportion" if op.normalize else "count": Kind.number}


def _check_correlation(step: _Step, op: Correlation) -> Schema:
    if op.columns is None:
        columns = [name for name, kind in step.schema.items() if kind in (Kind.number, Kind.boolean)]
    else:
        columns = op.columns
        for column in columns:
            kind = step.kind("columns", column)
            if kind not in (Kind.number, Kind.boolean, Kind.empty):
                raise step.fail(
                    "columns",
                    f"type mismatch: cannot correlate column {column!r}, which holds {_describe(kind)}",
                )
    return {"column": Kind.text, **dict.fromkeys(columns, Kind.number)}


_CHECKS: dict[str, Any] = {
    "filter": _check_filter,
    "select": _check_select,
    "describe": _check_describe,
    "groupby": _check_groupby,
    "pivot": _check_pivot,
    "resample": _check_resample,
    "sort": _check_sort,
    "top_n": _check_top_n,
    "value_counts": _check_value_counts,
    "correlation": _check_correlation,
}
