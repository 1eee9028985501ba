"""Each operation gives what pandas, called directly on the same data, gives."""

import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analytics_service.frames import frame_from_records, schema_of_frame
from analytics_service.limits import Limits
from analytics_service.pipeline import PipelineFailed, run_pipeline
from contracts.events import Analysis
from contracts.pipeline_check import Kind

RECORDS = [
    {"city": "Oslo", "shop": "a", "amount": 3.5, "qty": 1, "at": "2024-03-30T23:30:00+01:00"},
    {"city": "Oslo", "shop": "b", "amount": 1.5, "qty": None, "at": "2024-03-31T01:15:00+02:00"},
    {"city": "Rome", "shop": "a", "amount": 2, "qty": 4, "at": "2024-03-31T12:00:00+02:00"},
    {"city": None, "shop": "b", "amount": None, "qty": 2, "at": None},
    {"city": "Rome", "shop": "b", "amount": -7.25, "qty": 3, "at": "2024-04-02T08:00:00Z"},
    {"city": "Paris", "shop": "a", "amount": float("inf"), "qty": 9, "at": "2024-04-03T00:00:00+00:00"},
]

LIMITS = Limits(max_dataset_bytes=10**9, max_rows=10**6, max_columns=100, max_memory_bytes=10**9, chunk_rows=1000)


@pytest.fixture
def frame():
    return frame_from_records(RECORDS)


def run(frame, *ops):
    return run_pipeline(frame, Analysis(records=[{}], operations=list(ops)).operations, LIMITS)


def plain(table):
    table = table.reset_index()
    table.columns = [str(name) for name in table.columns]
    return table


def test_records_become_typed_columns_and_aware_times_are_utc(frame):
    assert schema_of_frame(frame) == {
        "city": Kind.text,
        "shop": Kind.text,
        "amount": Kind.number,
        "qty": Kind.number,
        "at": Kind.datetime,
    }
    assert str(frame["at"].dt.tz) == "UTC"
    assert frame["at"][1] == pd.Timestamp("2024-03-30T23:15:00Z")


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("==", "Oslo", lambda f: f[f.city == "Oslo"]),
        ("!=", "Oslo", lambda f: f[f.city != "Oslo"]),  # as in pandas: a null is not "Oslo"
        ("in", ["Rome", "Paris"], lambda f: f[f.city.isin(["Rome", "Paris"])]),
        ("not_in", ["Rome"], lambda f: f[~f.city.isin(["Rome"])]),
        ("is_null", None, lambda f: f[f.city.isna()]),
        ("not_null", None, lambda f: f[f.city.notna()]),
        ("<", "P", lambda f: f[f.city < "P"]),
    ],
)
def test_filter_on_text_with_nulls(frame, operator, value, expected):
    result = run(frame, {"op": "filter", "column": "city", "operator": operator, "value": value})

    assert_frame_equal(result, expected(frame).reset_index(drop=True))


def test_filter_on_numbers_leaves_nulls_out(frame):
    result = run(frame, {"op": "filter", "column": "amount", "operator": ">=", "value": 2})

    assert_frame_equal(result, frame[frame.amount >= 2].reset_index(drop=True))


def test_filter_on_aware_times_takes_iso_strings_in_any_offset(frame):
    result = run(frame, {"op": "filter", "column": "at", "operator": "<", "value": "2024-03-31T01:00:00+02:00"})

    assert_frame_equal(result, frame[frame["at"] < pd.Timestamp("2024-03-30T23:00:00Z")].reset_index(drop=True))
    naive = run(frame, {"op": "filter", "column": "at", "operator": ">", "value": "2024-04-02"})
    assert list(naive["city"]) == ["Rome", "Paris"]  # a naive value is read in the column's zone (UTC)


def test_select(frame):
    assert_frame_equal(run(frame, {"op": "select", "columns": ["qty", "city"]}), frame[["qty", "city"]])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # pandas' own, on inf - inf
def test_describe_matches_pandas_including_infinity(frame):
    result = run(frame, {"op": "describe"})

    expected = plain(frame.describe().rename_axis("statistic"))
    assert_frame_equal(result, expected)
    assert result.columns.tolist() == ["statistic", "amount", "qty"]
    assert math.isinf(result.set_index("statistic").loc["max", "amount"])


def test_describe_of_text_columns(frame):
    result = run(frame, {"op": "describe", "columns": ["city", "shop"]})

    assert_frame_equal(result, plain(frame[["city", "shop"]].describe().rename_axis("statistic")))


def test_groupby_with_every_aggregation(frame):
    aggregations = ["count", "sum", "mean", "median", "min", "max", "std", "nunique"]
    result = run(frame, {"op": "groupby", "by": ["city"], "aggregations": {"qty": aggregations, "shop": ["nunique"]}})

    expected = frame.groupby("city").agg({"qty": aggregations, "shop": ["nunique"]})
    expected.columns = [f"{column}_{aggregation}" for column, aggregation in expected.columns]
    assert_frame_equal(result, plain(expected))
    assert result["city"].tolist() == ["Oslo", "Paris", "Rome"]  # the null key is left out, as in pandas


def test_groupby_on_two_keys(frame):
    result = run(frame, {"op": "groupby", "by": ["city", "shop"], "aggregations": {"amount": ["sum"]}})

    expected = frame.groupby(["city", "shop"]).agg(amount_sum=("amount", "sum"))
    assert_frame_equal(result, plain(expected))


def test_pivot(frame):
    result = run(frame, {"op": "pivot", "index": ["city"], "columns": "shop", "values": "qty", "aggregation": "max"})

    expected = frame.pivot_table(index=["city"], columns="shop", values="qty", aggfunc="max")
    assert_frame_equal(result, plain(expected))


def test_resample_keeps_the_time_zone(frame):
    result = run(frame, {"op": "resample", "on": "at", "every": "1D", "aggregations": {"amount": ["sum", "count"]}})

    expected = frame.resample("1D", on="at").agg({"amount": ["sum", "count"]})
    expected.columns = ["amount_sum", "amount_count"]
    assert_frame_equal(result, plain(expected))
    assert str(result["at"].dt.tz) == "UTC"


def test_sort_puts_nulls_last_and_keeps_ties_in_order(frame):
    result = run(frame, {"op": "sort", "by": ["city", "amount"], "descending": True})

    expected = frame.sort_values(["city", "amount"], ascending=False, kind="stable", na_position="last")
    assert_frame_equal(result, expected.reset_index(drop=True))


@pytest.mark.parametrize("largest", [True, False])
def test_top_n_is_nlargest_or_nsmallest(frame, largest):
    result = run(frame, {"op": "top_n", "column": "qty", "n": 3, "largest": largest})

    expected = frame.nlargest(3, "qty") if largest else frame.nsmallest(3, "qty")
    assert_frame_equal(result, expected.reset_index(drop=True))


def test_top_n_on_text(frame):
    result = run(frame, {"op": "top_n", "column": "city", "n": 2})

    assert result["city"].tolist() == ["Rome", "Rome"]


@pytest.mark.parametrize("normalize", [False, True])
def test_value_counts(frame, normalize):
    result = run(frame, {"op": "value_counts", "column": "shop", "normalize": normalize, "limit": 5})

    assert_frame_equal(result, plain(frame["shop"].value_counts(normalize=normalize).head(5).to_frame()))


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_correlation(method):
    frame = pd.DataFrame({"x": [1.0, 2, 3, 4, None], "y": [2.0, 4, 5, 4, 1], "z": [9, 7, 5, 3, 1], "s": list("abcde")})

    result = run(frame, {"op": "correlation", "method": method})

    assert_frame_equal(result, plain(frame.corr(method=method, numeric_only=True).rename_axis("column")))
    assert result.columns.tolist() == ["column", "x", "y", "z"]


def test_mixed_types_can_be_counted_but_not_summed():
    frame = frame_from_records([{"code": 7}, {"code": "x7"}, {"code": 7}, {"code": None}])

    assert schema_of_frame(frame) == {"code": Kind.mixed}
    counts = run(frame, {"op": "value_counts", "column": "code"})
    assert_frame_equal(counts, plain(frame["code"].value_counts().to_frame()))
    with pytest.raises(PipelineFailed, match=r"operations\[0\] \(groupby\)"):
        run(frame.assign(k=1), {"op": "groupby", "by": ["k"], "aggregations": {"code": ["sum"]}})


def test_empty_frames_give_empty_tables():
    frame = frame_from_records(RECORDS).iloc[0:0]

    grouped = run(frame, {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum", "mean"]}})
    assert grouped.columns.tolist() == ["city", "amount_sum", "amount_mean"] and grouped.empty
    described = run(frame, {"op": "describe", "columns": ["amount"]})
    assert described.set_index("statistic").loc["count", "amount"] == 0
    assert run(frame, {"op": "filter", "column": "qty", "operator": ">", "value": 1}).empty
    assert run(frame, {"op": "top_n", "column": "qty", "n": 3}).empty


def test_a_pipeline_runs_each_operation_on_the_last_ones_output(frame):
    result = run(
        frame,
        {"op": "filter", "column": "amount", "operator": "<", "value": 1e9},
        {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum"]}},
        {"op": "sort", "by": ["amount_sum"], "descending": True},
    )

    assert result.to_dict("list") == {"city": ["Oslo", "Rome"], "amount_sum": [5.0, -5.25]}
    assert np.isnan(frame["amount"][3])
