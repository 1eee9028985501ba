"""Results as JSON (NaN, infinities, times) and as files (Parquet, and CSV safe in a spreadsheet)."""

import csv
import io
import itertools
import json
import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics_service.results import (
    PLAIN_NUMBER,
    file_result,
    formula_safe,
    inline_result,
    json_records,
    json_value,
    neutralise,
)
from storage.local import LocalStorage


def test_nan_is_null_and_infinities_are_strings():
    frame = pd.DataFrame({"x": [1.5, np.nan, np.inf, -np.inf], "n": pd.array([1, None, 3, 4], dtype="Int64")})

    records = json_records(frame)

    assert records == [
        {"x": 1.5, "n": 1},
        {"x": None, "n": None},
        {"x": "Infinity", "n": 3},
        {"x": "-Infinity", "n": 4},
    ]
    json.dumps(records, allow_nan=False)  # strict JSON: no NaN or Infinity literals


def test_datetimes_are_iso_8601_with_their_offset():
    frame = pd.DataFrame(
        {
            "aware": pd.to_datetime(["2024-03-31T01:15:00+02:00", None], utc=True).tz_convert("Europe/Oslo"),
            "naive": pd.to_datetime(["2024-01-02 03:04:05.5", "2024-01-03"], format="ISO8601"),
            "took": pd.to_timedelta(["1h", "90s"]),
        }
    )

    assert json_records(frame) == [
        {"aware": "2024-03-31T00:15:00+01:00", "naive": "2024-01-02T03:04:05.500000", "took": "P0DT1H0M0S"},
        {"aware": None, "naive": "2024-01-03T00:00:00", "took": "P0DT0H1M30S"},
    ]


def test_numpy_scalars_become_json_numbers():
    assert json_value(np.int64(7)) == 7 and type(json_value(np.int64(7))) is int
    assert json_value(np.bool_(True)) is True
    assert json_value(np.float32(np.nan)) is None


def test_small_results_are_inline_and_large_ones_are_not():
    frame = pd.DataFrame({"x": range(10)})

    assert inline_result(frame, max_rows=10, max_bytes=1000) == {
        "rows": 10,
        "columns": ["x"],
        "records": [{"x": value} for value in range(10)],
    }
    assert inline_result(frame, max_rows=9, max_bytes=1000) is None
    assert inline_result(frame, max_rows=10, max_bytes=20) is None


def test_formula_cells_are_neutralised_and_numbers_stay_numbers():
    frame = pd.DataFrame(
        {
            "text": ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain", "-5", "+1.5e3", None],
            "amount": [-1.5, 2, -3, 4, 5, 6, 7, -8, 9, 10],
            "=HYPERLINK(1)": range(10),
        }
    )

    safe = formula_safe(frame)

    # A tab or a line break alone opens no formula: what follows it is checked.
    neutralised = ["'=1+2", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)", "\tx", "\rx", "plain", "-5"]
    assert safe["text"].tolist()[:8] == neutralised
    assert safe["text"][8] == "+1.5e3" and pd.isna(safe["text"][9])
    assert safe["amount"].tolist() == frame["amount"].tolist()
    assert safe.columns.tolist() == ["text", "amount", "'=HYPERLINK(1)"]
    assert frame["text"][0] == "=1+2"  # the frame itself is untouched


def test_large_results_are_written_as_parquet_and_safe_csv(tmp_path):
    storage = LocalStorage(tmp_path)
    frame = pd.DataFrame({"name": ["=cmd()", "ok"], "value": [-1.0, np.inf]})

    result = file_result(frame, storage, "results/job-1")

    assert result["files"] == {"parquet": "results/job-1/result.parquet", "csv": "results/job-1/result.csv"}
    assert result["rows"] == 2 and result["columns"] == ["name", "value"]
    assert result["preview"] == [{"name": "=cmd()", "value": -1.0}, {"name": "ok", "value": "Infinity"}]
    assert pq.read_table(tmp_path / "results/job-1/result.parquet").to_pandas().equals(frame)
    rows = list(csv.reader(io.StringIO((tmp_path / "results/job-1/result.csv").read_text())))
    assert rows == [["name", "value"], ["'=cmd()", "-1.0"], ["ok", "inf"]]


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("\r=1", "\r'=1"),  # a CR starts a row for a reader whose rows end in LF
        ("\n=1", "\n'=1"),
        ("total\r\n=SUM(A1:A9)", "total\r\n'=SUM(A1:A9)"),
        ("a\u2028@x", "a\u2028'@x"),
        ("a\x0b+1", "a\x0b'+1"),
        (" =1", "' =1"),  # spreadsheets skip leading blanks
        ("\t\x00-1+1", "'\t\x00-1+1"),
        ("\ufeff=1", "'\ufeff=1"),
        ("\u3000=1", "'\u3000=1"),
        ("\uff1d1+1", "'\uff1d1+1"),  # a full-width '=' is a formula to some spreadsheets
        ("-5\n=1", "'-5\n'=1"),  # a plain number is one line of digits, nothing more
        ("-5", "-5"),
        ("plain\ntext", "plain\ntext"),
    ],
)
def test_a_formula_after_any_line_break_or_blank_is_neutralised(cell, safe):
    assert neutralise(cell) == safe


def written_csv(frame, tmp_path):
    file_result(frame, LocalStorage(tmp_path), "results/job")
    with open(tmp_path / "results/job/result.csv", newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def invisible(char):
    return char.isspace() or unicodedata.category(char)[0] in "CZ"


def opens_formula(cell):
    """A cell that, past blanks and controls, starts with a formula character and is no plain number."""
    visible = "".join(itertools.dropwhile(invisible, cell))
    return visible[:1] in set("=+-@\uff1d\uff0b\uff0d\uff20") and not PLAIN_NUMBER.fullmatch(cell)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.text(min_size=1), cells=st.lists(st.text(), min_size=1, max_size=5))
def test_no_text_read_back_from_the_csv_opens_a_formula(tmp_path, header, cells):
    rows = written_csv(pd.DataFrame({header: cells}, dtype=object), tmp_path)

    assert len(rows) == len(cells) + 1  # no line break inside a cell started a row
    for row in rows:
        assert len(row) == 1
        for line in re.split(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]", row[0]):
            assert not opens_formula(line) or PLAIN_NUMBER.fullmatch(row[0])
