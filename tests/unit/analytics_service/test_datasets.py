"""Datasets in storage: checked against their schema, read by the columns used, in batches, under caps."""

import io
import json
import re
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from analytics_service import reading
from analytics_service.analysis import PipelineRejected, analyse
from analytics_service.chunks import chunk_plan
from analytics_service.frames import schema_of_frame
from analytics_service.limits import Limits
from analytics_service.reading import DatasetUnreadable
from contracts.events import Analysis
from runtime.errors import TooLarge
from runtime.job import Cancelled, Tally
from storage.local import LocalStorage

ROWS = 500
LIMITS = Limits(max_dataset_bytes=10**8, max_rows=10**6, max_columns=100, max_memory_bytes=10**8, chunk_rows=7)


@pytest.fixture
def frame():
    rng = np.random.default_rng(6)
    amount = rng.normal(100, 30, ROWS)
    amount[::17] = np.nan
    return pd.DataFrame(
        {
            "city": rng.choice(["Oslo", "Rome", "Lima", None], ROWS),
            "amount": amount,
            "qty": rng.integers(0, 50, ROWS),
            "paid": rng.random(ROWS) > 0.3,
            "at": pd.date_range("2024-01-01", periods=ROWS, freq="37min", tz="Europe/Oslo"),
            "note": rng.choice(["=a", "b", "c"], ROWS),
        }
    )


@pytest.fixture
def storage(tmp_path, frame):
    storage = LocalStorage(tmp_path)
    frame.to_parquet(tmp_path / "sales.parquet", row_group_size=100)
    frame.to_csv(tmp_path / "sales.csv", index=False)
    return storage


def analysis(dataset, *ops):
    return Analysis(dataset=dataset, operations=list(ops))


GROUPBY = {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum", "mean", "count"], "qty": ["min", "max"]}}


def expected_groupby(frame):
    table = frame.groupby("city").agg({"amount": ["sum", "mean", "count"], "qty": ["min", "max"]})
    table.columns = [f"{column}_{aggregation}" for column, aggregation in table.columns]
    return table.reset_index()


@pytest.mark.parametrize("dataset", ["sales.parquet", "sales.csv"])
def test_groupby_in_batches_matches_pandas(storage, frame, dataset):
    progress = Tally()
    outcome = analyse(
        analysis(dataset, {"op": "filter", "column": "paid", "operator": "==", "value": True}, GROUPBY),
        storage,
        LIMITS,
        progress,
    )

    expected = expected_groupby(frame[frame.paid])
    assert_frame_equal(outcome.table, expected, check_dtype=False, check_exact=False, rtol=1e-12)
    assert outcome.input_rows == ROWS
    assert progress.done == progress.total and progress.unit == ("rows" if dataset.endswith("parquet") else "bytes")


@pytest.mark.parametrize("dataset", ["sales.parquet", "sales.csv"])
def test_a_cancelled_job_stops_reading_at_the_next_batch(storage, dataset, monkeypatch):
    monkeypatch.setattr(reading, "CSV_BLOCK_BYTES", 4096)  # several batches from the small CSV too
    progress = Tally()

    def read_two(dataset):
        batches = dataset.batches(["amount"])
        next(batches)
        progress.cancelled.set()  # as `in_thread` does when the service shuts down
        next(batches)

    with pytest.raises(Cancelled):
        reading.read_dataset(storage, storage.stat(dataset), LIMITS, progress, read_two)


@pytest.mark.parametrize("dataset", ["sales.parquet", "sales.csv"])
def test_describe_in_batches_matches_pandas(storage, frame, dataset):
    outcome = analyse(analysis(dataset, {"op": "describe"}), storage, LIMITS, Tally())

    expected = frame.describe().rename_axis("statistic").reset_index()
    assert_frame_equal(outcome.table, expected, check_dtype=False, check_exact=False, rtol=1e-12)


def test_a_pipeline_that_needs_every_row_reads_them_whole(storage, frame):
    outcome = analyse(
        analysis(
            "sales.parquet",
            {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["median", "std", "nunique"]}},
            {"op": "top_n", "column": "amount_median", "n": 2},
        ),
        storage,
        LIMITS,
        Tally(),
    )

    expected = frame.groupby("city").agg({"amount": ["median", "std", "nunique"]})
    expected.columns = ["amount_median", "amount_std", "amount_nunique"]
    expected = expected.reset_index().nlargest(2, "amount_median").reset_index(drop=True)
    assert_frame_equal(outcome.table, expected, check_dtype=False)


def test_times_keep_their_zone_through_parquet(storage, frame):
    outcome = analyse(
        analysis("sales.parquet", {"op": "resample", "on": "at", "every": "1D", "aggregations": {"qty": ["sum"]}}),
        storage,
        LIMITS,
        Tally(),
    )

    expected = frame.resample("1D", on="at").agg(qty_sum=("qty", "sum")).reset_index()
    assert_frame_equal(outcome.table, expected, check_dtype=False)
    assert str(outcome.table["at"].dt.tz) == "Europe/Oslo"


def test_only_filtered_rows_are_kept(storage, frame):
    outcome = analyse(
        analysis("sales.csv", {"op": "filter", "column": "qty", "operator": ">=", "value": 45}),
        storage,
        LIMITS,
        Tally(),
    )

    assert outcome.table["qty"].tolist() == frame[frame.qty >= 45]["qty"].tolist()
    assert outcome.table.columns.tolist() == frame.columns.tolist()


def test_which_pipelines_run_in_batches(frame):
    schema = schema_of_frame(frame)
    ops = Analysis(records=[{}], operations=[GROUPBY, {"op": "sort", "by": ["amount_sum"]}]).operations

    plan = chunk_plan(schema, ops)

    assert plan is not None and plan.rest_start == 1 and [op.op for op in plan.rest] == ["sort"]
    median = Analysis(
        records=[{}], operations=[{"op": "groupby", "by": ["city"], "aggregations": {"amount": ["median"]}}]
    )
    assert chunk_plan(schema, median.operations) is None
    text = Analysis(records=[{}], operations=[{"op": "describe", "columns": ["city"]}])
    assert chunk_plan(schema, text.operations) is None


def test_an_unknown_column_fails_the_job_permanently(storage):
    with pytest.raises(PipelineRejected, match=r"operations\[0\]: unknown column 'town' in 'by'"):
        analyse(
            analysis("sales.parquet", {"op": "groupby", "by": ["town"], "aggregations": {"qty": ["sum"]}}),
            storage,
            LIMITS,
            Tally(),
        )


def test_a_type_mismatch_fails_the_job_permanently(storage):
    with pytest.raises(PipelineRejected, match="cannot take the sum of column 'note', which holds text"):
        analyse(
            analysis("sales.csv", {"op": "groupby", "by": ["city"], "aggregations": {"note": ["sum"]}}),
            storage,
            LIMITS,
            Tally(),
        )


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_dataset_bytes": 1000}, "too_large: the dataset is"),
        ({"max_rows": 100}, "too_large: the dataset has more than 100 rows"),
        # A CSV's header is counted before it is parsed; Parquet reads only the columns used.
        ({"max_columns": 1}, r"too_large: the (pipeline reads 2|dataset has 6) columns"),
        ({"max_memory_bytes": 2000}, "too_large: the job would hold more than 2000 bytes"),
    ],
    ids=["bytes", "rows", "columns", "memory"],
)
@pytest.mark.parametrize("dataset", ["sales.parquet", "sales.csv"])
def test_caps_refuse_the_job_as_too_large(storage, dataset, limits, message):
    capped = Limits(**{**LIMITS.__dict__, **limits})
    pipeline = analysis(dataset, {"op": "groupby", "by": ["city"], "aggregations": {"qty": ["median"]}})

    with pytest.raises(TooLarge) as raised:
        analyse(pipeline, storage, capped, Tally())

    assert re.match(message, str(raised.value))


def test_partial_aggregates_count_against_the_memory_cap(tmp_path):
    pq.write_table(pa.table({"id": np.arange(5000), "x": np.ones(5000)}), tmp_path / "ids.parquet")
    capped = Limits(**{**LIMITS.__dict__, "max_memory_bytes": 20_000, "chunk_rows": 1000})

    with pytest.raises(TooLarge, match="too_large: the job would hold"):
        analyse(
            analysis("ids.parquet", {"op": "groupby", "by": ["id"], "aggregations": {"x": ["sum"]}}),
            LocalStorage(tmp_path),
            capped,
            Tally(),
        )


def test_records_stored_as_json_lines_are_read_like_inline_records(tmp_path):
    records = [{"city": "Oslo", "amount": 3.5}, {"city": "Oslo", "amount": 1.5}, {"city": "Rome", "amount": 2}]
    (tmp_path / "batch.jsonl").write_text("\n".join(json.dumps(record) for record in records))

    outcome = analyse(
        analysis("batch.jsonl", GROUPBY | {"aggregations": {"amount": ["sum"]}}),
        LocalStorage(tmp_path),
        LIMITS,
        Tally(),
    )

    assert outcome.table.to_dict("list") == {"city": ["Oslo", "Rome"], "amount_sum": [5.0, 2.0]}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.parquet", b"not parquet at all", "cannot read 'bad.parquet'"),
        ("bad.csv", b"a,b\n1,2\nx,3\n", None),
        ("data.xlsx", b"PK", "unknown dataset format"),
    ],
)
def test_unreadable_datasets_fail_permanently(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    pipeline = analysis(name, {"op": "describe"})

    if message is None:  # a CSV whose types hold: nothing to refuse
        analyse(pipeline, LocalStorage(tmp_path), LIMITS, Tally())
        return
    with pytest.raises(DatasetUnreadable, match=message):
        analyse(pipeline, LocalStorage(tmp_path), LIMITS, Tally())


LATE = "late.csv"


def write_late_csv(tmp_path, late_cell):
    """2,000 rows whose `n` is an integer, then one row with `late_cell`: past the first block."""
    rows = [f"{'ab'[i % 2]},{i}" for i in range(2000)] + [f"a,{late_cell}"]
    (tmp_path / LATE).write_text("\n".join(["kind,n", *rows]) + "\n")
    return pd.read_csv(tmp_path / LATE)


def test_a_late_float_widens_its_csv_column_as_pandas_types_it(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "CSV_BLOCK_BYTES", 1024)  # types are inferred from the first block only
    frame = write_late_csv(tmp_path, "2.5")
    groupby = {"op": "groupby", "by": ["kind"], "aggregations": {"n": ["sum", "mean", "max"]}}

    outcome = analyse(analysis(LATE, groupby), LocalStorage(tmp_path), LIMITS, Tally())

    expected = frame.groupby("kind").agg({"n": ["sum", "mean", "max"]})
    expected.columns = ["n_sum", "n_mean", "n_max"]
    assert_frame_equal(outcome.table, expected.reset_index(), check_exact=False, rtol=1e-12)
    assert outcome.input_rows == 2001


def test_a_late_word_makes_its_csv_column_text_and_numeric_operations_on_it_are_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "CSV_BLOCK_BYTES", 1024)
    frame = write_late_csv(tmp_path, "oops")
    storage = LocalStorage(tmp_path)

    counted = analyse(analysis(LATE, {"op": "value_counts", "column": "n", "limit": 3}), storage, LIMITS, Tally())
    assert counted.table["count"].tolist() == frame["n"].value_counts().head(3).tolist()

    summed = analysis(LATE, {"op": "groupby", "by": ["kind"], "aggregations": {"n": ["sum"]}})
    with pytest.raises(PipelineRejected, match="'n'"):
        analyse(summed, storage, LIMITS, Tally())


def test_a_csv_row_with_too_many_cells_fails_permanently(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "CSV_BLOCK_BYTES", 1024)
    (tmp_path / LATE).write_text("\n".join(["n"] + ["1"] * 2000 + ["1,2"]))

    with pytest.raises(DatasetUnreadable, match="cannot read 'late.csv'"):
        analyse(analysis(LATE, {"op": "describe"}), LocalStorage(tmp_path), LIMITS, Tally())


def test_json_lines_over_what_fits_the_memory_cap_are_refused_before_reading(tmp_path, monkeypatch):
    (tmp_path / "batch.jsonl").write_text('{"x": 1}\n' * 2000)  # 18 kB: some 290 kB as records and a frame
    storage = LocalStorage(tmp_path)
    capped = Limits(**{**LIMITS.__dict__, "max_memory_bytes": 128 * 1024})

    def no_read(ref):
        raise AssertionError("the file was opened")

    monkeypatch.setattr(storage, "open_read", no_read)
    with pytest.raises(TooLarge, match="too_large: 18000 bytes of JSON lines would take about"):
        analyse(analysis("batch.jsonl", {"op": "describe"}), storage, capped, Tally())


def test_a_json_line_over_its_cap_is_refused_before_it_is_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "JSON_LINE_MAX_BYTES", 64 * 1024)
    long_line = json.dumps({"x": "a" * 8_000_000})
    (tmp_path / "batch.jsonl").write_text(f'{{"x": "short"}}\n{long_line}\n')
    roomy = Limits(**{**LIMITS.__dict__, "max_memory_bytes": 10**9})  # the file itself would fit

    tracemalloc.start()
    try:
        with pytest.raises(TooLarge, match="too_large: line 2 of the JSON lines is longer than 65536 bytes"):
            analyse(analysis("batch.jsonl", {"op": "describe"}), LocalStorage(tmp_path), roomy, Tally())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the line is 8 MB


def test_json_lines_are_read_no_further_than_the_memory_cap_allows():
    capped = Limits(**{**LIMITS.__dict__, "max_memory_bytes": 16 * 1000})  # 1,000 bytes of JSON
    file = io.BytesIO(b'{"x": 1}\n' * 10_000)  # larger than storage said, say, as it grew after

    with pytest.raises(TooLarge, match="too_large: the JSON lines go past 1000 bytes"):
        list(reading._bounded_lines(file, capped))
    assert file.tell() <= 1000 + len(b'{"x": 1}\n')


def test_a_csv_with_too_many_columns_is_refused_from_its_header_before_it_is_parsed(tmp_path, monkeypatch):
    header = ",".join(f"c{i}" for i in range(100_000))  # 589 kB: pyarrow would spend a gigabyte on it
    (tmp_path / "wide.csv").write_text(f"{header}\n" + ",".join("1" * 100_000) + "\n")

    def no_parse(*args, **kwargs):
        raise AssertionError("pyarrow parsed the file")

    monkeypatch.setattr(pyarrow.csv, "open_csv", no_parse)
    with pytest.raises(TooLarge, match="too_large: the dataset has 100000 columns, over the cap of 100"):
        analyse(analysis("wide.csv", {"op": "describe", "columns": ["c1"]}), LocalStorage(tmp_path), LIMITS, Tally())


def test_a_csv_header_line_without_an_end_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(pyarrow.csv, "open_csv", lambda *args, **kwargs: pytest.fail("pyarrow parsed the file"))
    (tmp_path / "long.csv").write_bytes(b"x" * 3_000_000)

    with pytest.raises(TooLarge, match="too_large: the dataset's header line is longer than 1048576 bytes"):
        analyse(analysis("long.csv", {"op": "describe"}), LocalStorage(tmp_path), LIMITS, Tally())
