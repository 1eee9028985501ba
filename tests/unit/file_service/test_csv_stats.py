"""CSV statistics, block by block, against what pandas says of the same file."""

import io
import math

import pandas as pd
import pyarrow.csv
import pytest

from file_service.errors import Unreadable
from file_service.operations import csv_reading
from file_service.operations.csv_stats import csv_stats
from runtime.errors import TooLarge

MIXED = (
    "id,amount,count,city,flag,when\n"
    "1,3.5,10,Oslo,true,2024-01-01T10:00:00Z\n"
    "2,,20,Rome,false,\n"
    "3,-1.25,,NA,true,2024-01-03T10:00:00Z\n"
    "4,inf,40,,false,2024-01-04T10:00:00Z\n"
    "5,2,50,Lima,,2024-01-05T10:00:00Z\n"
)


def against_pandas(data: bytes, result: dict) -> None:
    frame = pd.read_csv(io.BytesIO(data))
    assert result["rows"] == len(frame)
    assert [column["name"] for column in result["columns"]] == list(frame.columns)
    for column in result["columns"]:
        series = frame[column["name"]]
        assert column["nulls"] == series.isna().sum(), column["name"]
        if "mean" in column:
            assert pd.api.types.is_numeric_dtype(series), column["name"]
            assert column["min"] == series.min()
            assert decoded(column["max"]) == series.max()
            assert math.isclose(decoded(column["mean"]), series.mean(), rel_tol=1e-9)


def decoded(value):
    return float(value.replace("Infinity", "inf")) if isinstance(value, str) else value


def test_mixed_columns_agree_with_pandas(source_of):
    data = MIXED.encode()
    result = csv_stats(source_of(data), max_columns=100).summary
    against_pandas(data, result)
    by_name = {column["name"]: column for column in result["columns"]}
    assert by_name["amount"]["max"] == "Infinity"  # JSON has no infinity; documented as a string
    assert by_name["city"] == {"name": "city", "type": "text", "nulls": 2}
    assert by_name["when"]["type"] == "datetime"


def test_many_blocks_and_a_type_that_changes_late_agree_with_pandas(source_of, monkeypatch):
    monkeypatch.setattr(csv_reading, "BLOCK_SIZE", 4096)  # many blocks, even for a small file
    lines = ["key,value,label"]
    lines += [f"{i},{i * 3},l{i % 5}" for i in range(5000)]
    lines += ["5000,2.5,x", "abc,7,y", "5002,,z"]  # value turns float, key turns text, in the last block
    data = ("\n".join(lines) + "\n").encode()
    source = source_of(data)
    result = csv_stats(source, max_columns=100).summary
    against_pandas(data, result)
    by_name = {column["name"]: column for column in result["columns"]}
    assert (by_name["key"]["type"], by_name["value"]["type"]) == ("text", "float")
    assert source.meter.total > len(data)  # the rescans were counted as work


def test_an_empty_file_is_unreadable(source_of):
    with pytest.raises(Unreadable, match="Empty CSV"):
        csv_stats(source_of(b""), max_columns=100)


def test_ragged_rows_are_unreadable(source_of):
    with pytest.raises(Unreadable, match="Expected 2 columns, got 3"):
        csv_stats(source_of(b"a,b\n1,2\n3,4,5\n"), max_columns=100)


def test_too_many_columns_is_too_large(source_of):
    header = ",".join(f"c{i}" for i in range(30))
    with pytest.raises(TooLarge, match="too_large: 30 columns"):
        csv_stats(source_of(f"{header}\n".encode()), max_columns=20)


def test_a_header_only_file_has_no_rows(source_of):
    result = csv_stats(source_of(b"a,b\n"), max_columns=100).summary
    assert result["rows"] == 0
    assert [column["nulls"] for column in result["columns"]] == [0, 0]


def test_too_many_columns_are_refused_from_the_header_before_pyarrow_parses_it(source_of, monkeypatch):
    header = ",".join(f"c{i}" for i in range(100_000))  # 589 kB: pyarrow would spend a gigabyte on it
    source = source_of(f"{header}\n{','.join('1' * 100_000)}\n".encode())
    monkeypatch.setattr(pyarrow.csv, "open_csv", lambda *args, **kwargs: pytest.fail("pyarrow parsed the file"))

    with pytest.raises(TooLarge, match="too_large: 100000 columns, more than CSV_MAX_COLUMNS"):
        csv_stats(source, max_columns=2000)


def test_names_quoted_with_commas_and_line_breaks_count_once(source_of):
    found = csv_stats(source_of(b'"a,b","c\nd",e\n1,2,3\n'), max_columns=3).summary
    assert [column["name"] for column in found["columns"]] == ["a,b", "c\nd", "e"]
    with pytest.raises(TooLarge, match="too_large: 3 columns"):
        csv_stats(source_of(b'"x",",\n,",y\n1,2,3\n'), max_columns=2)  # a quoted line break hides no column


def test_a_header_line_without_an_end_is_too_large(source_of):
    with pytest.raises(TooLarge, match="too_large: the header line is longer than 1048576 bytes"):
        csv_stats(source_of(b"x" * 3_000_000), max_columns=2000)
