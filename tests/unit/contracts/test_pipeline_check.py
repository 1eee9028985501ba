"""A pipeline is checked against its columns before it runs: errors name the operation and the column."""

import pytest
from pydantic import ValidationError

from contracts.events import Analysis
from contracts.pipeline_check import Kind, PipelineInvalid, check_pipeline, schema_of_records, source_columns

RECORDS = [
    {"city": "Oslo", "amount": 3.5, "paid": True, "at": "2024-01-01T10:00:00+01:00", "tags": ["a"]},
    {"city": "Rome", "amount": 2, "paid": None, "at": "2024-01-02T10:00:00+01:00", "code": 7},
    {"city": None, "amount": None, "code": "x7"},
]


def operations(*ops):
    return Analysis(records=RECORDS, operations=list(ops)).operations


def test_the_kinds_of_record_columns():
    assert schema_of_records(RECORDS) == {
        "city": Kind.text,
        "amount": Kind.number,
        "paid": Kind.boolean,
        "at": Kind.datetime,
        "tags": Kind.nested,
        "code": Kind.mixed,
    }


def test_a_fitting_pipeline_passes():
    check_pipeline(
        schema_of_records(RECORDS),
        operations(
            {"op": "filter", "column": "amount", "operator": ">", "value": 1},
            {"op": "filter", "column": "at", "operator": ">=", "value": "2024-01-01"},
            {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum", "mean"], "code": ["count"]}},
            {"op": "sort", "by": ["amount_sum"], "descending": True},
            {"op": "top_n", "column": "amount_mean", "n": 1},
        ),
    )


@pytest.mark.parametrize(
    ("op", "index", "field", "message"),
    [
        (
            {"op": "groupby", "by": ["town"], "aggregations": {"amount": ["sum"]}},
            1,
            "by",
            "unknown column 'town' in 'by'; the columns here are 'city', 'amount'",
        ),
        (
            {"op": "groupby", "by": ["city"], "aggregations": {"city": ["mean"]}},
            1,
            "aggregations",
            "type mismatch: cannot take the mean of column 'city', which holds text",
        ),
        (
            {"op": "filter", "column": "amount", "operator": ">", "value": "ten"},
            1,
            "value",
            "type mismatch: column 'amount' holds numbers, but the value 'ten' is not comparable",
        ),
        ({"op": "filter", "column": "amount", "operator": "in", "value": 3}, 1, "value", "needs a list"),
        ({"op": "sort", "by": ["code"]}, 1, "by", "cannot sort by column 'code': it holds values of mixed types"),
        ({"op": "resample", "on": "city", "every": "1D", "aggregations": {"amount": ["sum"]}}, 1, "on", "resample"),
        ({"op": "correlation", "columns": ["amount", "city"]}, 1, "columns", "cannot correlate column 'city'"),
        ({"op": "value_counts", "column": "tags"}, 1, "column", "it holds lists or objects"),
    ],
    ids=[
        "unknown-column",
        "mean-of-text",
        "number-vs-text",
        "in-needs-list",
        "mixed-sort",
        "resample-text",
        "correlate-text",
        "count-lists",
    ],
)
def test_a_misfit_names_the_operation_and_column(op, index, field, message):
    pipeline = operations({"op": "select", "columns": ["city", "amount", "code", "tags"]}, op)

    with pytest.raises(PipelineInvalid) as raised:
        check_pipeline(schema_of_records(RECORDS), pipeline)

    assert (raised.value.index, raised.value.field) == (index, field)
    assert str(raised.value).startswith(f"operations[{index}]: ")
    assert message in str(raised.value)


def test_later_operations_see_the_columns_an_aggregation_made():
    pipeline = operations(
        {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum"]}},
        {"op": "sort", "by": ["amount"]},
    )

    with pytest.raises(PipelineInvalid, match=r"operations\[1\]: unknown column 'amount' in 'by'; .*'amount_sum'"):
        check_pipeline(schema_of_records(RECORDS), pipeline)


@pytest.mark.parametrize(
    "op",
    [
        {"op": "eval", "expr": "amount * 2"},
        {"op": "query", "expr": "amount > 1"},
        {"op": "filter", "column": "amount", "operator": "__import__('os')", "value": 1},
        {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["lambda x: x"]}},
        {"op": "resample", "on": "at", "every": "1D; rm -rf", "aggregations": {"amount": ["sum"]}},
        {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum"]}, "code": "x"},
    ],
    ids=["eval", "query", "operator", "aggregation", "offset", "extra-field"],
)
def test_anything_outside_the_vocabulary_is_refused(op):
    with pytest.raises(ValidationError):
        Analysis(records=RECORDS, operations=[op])


def test_only_the_columns_the_pipeline_reads_are_loaded():
    schema = {name: Kind.number for name in ["a", "b", "c", "d", "e"]}

    assert source_columns(
        schema,
        operations(
            {"op": "filter", "column": "e", "operator": ">", "value": 0},
            {"op": "groupby", "by": ["a"], "aggregations": {"c": ["sum"]}},
            {"op": "sort", "by": ["c_sum"]},
        ),
    ) == ["a", "c", "e"]
    assert source_columns(schema, operations({"op": "select", "columns": ["d", "b"]})) == ["b", "d"]
    assert source_columns(schema, operations({"op": "describe"})) == list(schema)
    assert source_columns(schema, operations({"op": "select", "columns": ["b", "c"]}, {"op": "describe"})) == ["b", "c"]
