"""Operations whose table can outgrow what they read are refused as too_large before pandas builds it."""

import time
import tracemalloc
import uuid

import numpy as np
import pandas as pd
import pytest

from analytics_service.frames import frame_from_records
from analytics_service.handler import AnalyticsHandler
from analytics_service.limits import Limits
from analytics_service.pipeline import run_pipeline
from analytics_service.settings import AnalyticsSettings
from contracts.events import Analysis, AnalysisRequested
from runtime.errors import TooLarge
from runtime.job import JobContext
from storage.local import LocalStorage

MiB = 1024 * 1024
CAPPED = Limits(max_dataset_bytes=10**9, max_rows=10**7, max_columns=1000, max_memory_bytes=128 * MiB, chunk_rows=1000)
TEN_YEARS = [{"t": "2010-01-01T00:00:00Z"}, {"t": "2020-01-01T00:00:00Z"}]
EVERY_MINUTE = {"op": "resample", "on": "t", "every": "1min", "aggregations": {"t": ["count"]}}


def operations(*ops):
    return Analysis(records=[{}], operations=list(ops)).operations


def peak_bytes_of(work):
    """The most memory Python's allocator held at once while `work` ran (pandas' and NumPy's arrays included)."""
    tracemalloc.start()
    try:
        work()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def refused(frame, *ops, limits=CAPPED):
    with pytest.raises(TooLarge) as raised:
        run_pipeline(frame, operations(*ops), limits)
    return str(raised.value)


async def test_a_resample_of_two_records_at_every_minute_is_refused_before_any_file_is_written(tmp_path):
    settings = AnalyticsSettings(_env_file=None, analytics_max_memory_bytes=128 * MiB)
    handler = AnalyticsHandler(LocalStorage(tmp_path), settings)
    event = AnalysisRequested(records=TEN_YEARS, operations=[EVERY_MINUTE])

    started = time.monotonic()
    with pytest.raises(TooLarge, match=r"too_large: resample would make a table of about 5258\d{3} rows"):
        await handler(event, JobContext(uuid.uuid4(), 1))

    assert time.monotonic() - started < 2  # five million rows would take longer to build than to refuse
    assert not (tmp_path / "results").exists()


def test_a_refused_resample_allocates_nothing_like_its_table():
    frame = frame_from_records(TEN_YEARS)

    peak = peak_bytes_of(lambda: refused(frame, EVERY_MINUTE))

    assert peak < 5 * MiB  # the table would be 5,258,881 rows of two columns: 84 MB


def test_a_resample_that_fits_runs():
    frame = frame_from_records(TEN_YEARS)
    table = run_pipeline(frame, operations({**EVERY_MINUTE, "every": "1D"}), CAPPED)
    assert len(table) == 3653 and table["t_count"].sum() == 2


@pytest.mark.parametrize("every", ["1h", "1D", "1W", "1MS", "1ME", "1QS", "1YS"])
def test_the_estimate_of_periods_is_never_below_what_pandas_makes(every):
    times = pd.to_datetime(["2021-03-27T05:00:00", "2023-11-05T07:00:00"]).tz_localize("Europe/Oslo")
    frame = pd.DataFrame({"t": times, "x": [1.0, 2.0]})
    made = len(frame.resample(every, on="t").agg({"x": ["sum"]}))
    # A cap just below what the estimate needs for `made` rows refuses it: the estimate is at least `made`.
    just_below = Limits(**{**CAPPED.__dict__, "max_memory_bytes": made * 2 * 32 - 1})

    refused(frame, {"op": "resample", "on": "t", "every": every, "aggregations": {"x": ["sum"]}}, limits=just_below)


def test_a_pivot_of_distinct_keys_is_refused_before_it_is_built():
    records = [{"row": f"r{i}", "column": f"c{i}", "value": i} for i in range(4000)]
    frame = frame_from_records(records)
    pivot = {"op": "pivot", "index": ["row"], "columns": "column", "values": "value"}

    peak = peak_bytes_of(lambda: refused(frame, pivot))
    assert peak < 20 * MiB  # 4,000 x 4,000 cells would be 128 MB before pandas' own copies

    wide = Limits(**{**CAPPED.__dict__, "max_columns": 10_000})
    assert "pivot would make a table of about 4000 rows and 4001 columns" in refused(frame, pivot, limits=wide)
    assert "pivot would make 4001 columns, over the cap of 1000" in refused(frame, pivot)


def test_a_pivot_that_fits_runs():
    records = [{"row": f"r{i % 50}", "column": f"c{i % 7}", "value": i} for i in range(4000)]
    table = run_pipeline(
        frame_from_records(records),
        operations({"op": "pivot", "index": ["row"], "columns": "column", "values": "value"}),
        CAPPED,
    )
    assert table.shape == (50, 8)


def test_a_column_named_again_and_again_is_refused():
    frame = pd.DataFrame({"x": np.arange(100_000, dtype="float64")})
    small = Limits(**{**CAPPED.__dict__, "max_memory_bytes": 64 * MiB})

    assert "select would make a table of about 100000 rows and 1000 columns" in refused(
        frame, {"op": "select", "columns": ["x"] * 1000}, limits=small
    )
    assert "describe would make" in refused(frame, {"op": "describe", "columns": ["x"] * 1000}, limits=small)
    assert "correlation would make" in refused(frame, {"op": "correlation", "columns": ["x"] * 1000}, limits=small)


def test_a_groupby_is_counted_when_its_bound_is_too_rough():
    frame = pd.DataFrame({"key": np.arange(400_000) % 3, "x": np.ones(400_000)})
    # 400,000 rows of up to 9 columns would be over the cap; there are only 3 groups.
    small = Limits(**{**CAPPED.__dict__, "max_memory_bytes": 16 * MiB})
    every = ["count", "sum", "mean", "median", "min", "max", "std", "nunique"]

    table = run_pipeline(frame, operations({"op": "groupby", "by": ["key"], "aggregations": {"x": every}}), small)
    assert len(table) == 3

    frame["key"] = np.arange(400_000)  # now every row is a group
    assert "groupby would make a table of about 400000 rows and 9 columns" in refused(
        frame, {"op": "groupby", "by": ["key"], "aggregations": {"x": every}}, limits=small
    )
