"""The declared vocabulary of analysis operations.

Clients describe a pipeline as data, never as code: no expressions, no query
strings, nothing that pandas would evaluate. Each operation is applied to the
frame the previous one produced.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue

# pandas keeps integers in 64 bits: a larger one would not compare or sum as a number.
SMALLEST_INTEGER = -(2**63)
LARGEST_INTEGER = 2**63 - 1


def number_problem(value: JsonValue, where: str = "") -> str | None:
    """Why a JSON value holds a number the analytics service cannot take (NaN, infinity, a huge integer)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where or 'the value'} is not a finite number (past ±1.8e308, or NaN): numbers must be finite"
    if isinstance(value, int) and not SMALLEST_INTEGER <= value <= LARGEST_INTEGER:
        return f"{where or 'the value'} is an integer beyond 64 bits (from {SMALLEST_INTEGER} to {LARGEST_INTEGER})"
    if isinstance(value, list):
        return next((p for i, item in enumerate(value) if (p := number_problem(item, f"{where}[{i}]"))), None)
    if isinstance(value, dict):
        return next((p for key, item in value.items() if (p := number_problem(item, f"{where}[{key!r}]"))), None)
    return None


def _representable(value: JsonValue) -> JsonValue:
    problem = number_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


DataValue = Annotated[JsonValue, AfterValidator(_representable)]
"""A value in a record or a filter: any JSON, with numbers pandas can hold.

Checked after parsing because JSON parsers read 1e309 as infinity without a word."""

Column = Annotated[str, Field(min_length=1, max_length=256)]
Columns = Annotated[list[Column], Field(min_length=1, max_length=1000)]
Aggregation = Literal["count", "sum", "mean", "median", "min", "max", "std", "nunique"]
Aggregations = Annotated[dict[Column, Annotated[list[Aggregation], Field(min_length=1)]], Field(min_length=1)]


def _op_is_required(schema: dict[str, Any]) -> None:
    # `op` has a default for code that builds an operation, but a message must
    # say which operation each one is: the pipeline is read by it.
    schema["required"] = ["op", *schema.get("required", [])]


class _Operation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_op_is_required)


class Filter(_Operation):
    op: Literal["filter"] = "filter"
    column: Column
    operator: Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "not_null"]
    value: DataValue = None


class Select(_Operation):
    op: Literal["select"] = "select"
    columns: Columns


class Describe(_Operation):
    op: Literal["describe"] = "describe"
    columns: Columns | None = None


class GroupBy(_Operation):
    op: Literal["groupby"] = "groupby"
    by: Columns
    aggregations: Aggregations


class Pivot(_Operation):
    op: Literal["pivot"] = "pivot"
    index: Columns
    columns: Column
    values: Column
    aggregation: Aggregation = "sum"


class Resample(_Operation):
    op: Literal["resample"] = "resample"
    on: Column
    every: str = Field(
        pattern=r"^[1-9][0-9]{0,3}(min|h|D|W|MS|ME|QS|YS)$",
        description="A pandas offset alias such as '1h', '1D', '1W' or '1MS'.",
    )
    aggregations: Aggregations


class Sort(_Operation):
    op: Literal["sort"] = "sort"
    by: Columns
    descending: bool = False


class TopN(_Operation):
    op: Literal["top_n"] = "top_n"
    column: Column
    n: int = Field(ge=1, le=100_000)
    largest: bool = True


class ValueCounts(_Operation):
    op: Literal["value_counts"] = "value_counts"
    column: Column
    normalize: bool = False
    limit: int | None = Field(default=None, ge=1, le=100_000)


class Correlation(_Operation):
    op: Literal["correlation"] = "correlation"
    columns: Columns | None = None
    # No "kendall": pandas computes it with SciPy, which the service does not install.
    method: Literal["pearson", "spearman"] = "pearson"


Operation = Annotated[
    Filter | Select | Describe | GroupBy | Pivot | Resample | Sort | TopN | ValueCounts | Correlation,
    Field(discriminator="op"),
]
