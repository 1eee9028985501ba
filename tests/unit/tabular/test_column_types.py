"""A column widened as pandas would type it, from the error pyarrow gives for a value that does not fit."""

import io

import pyarrow as pa
import pytest
from pyarrow import csv

from tabular.column_types import convert_options, widen


def conversion_error(
    header: str, row: str, late: str, column_types: dict[str, pa.DataType]
) -> tuple[pa.ArrowInvalid, pa.Schema]:
    """The error reading `late` after many `row`s with `column_types` imposed, and the schema it was read with."""
    data = f"{header}\n" + f"{row}\n" * 100 + f"{late}\n"
    options = csv.ReadOptions(block_size=64)  # the late row is past the first block
    reader = csv.open_csv(
        io.BytesIO(data.encode()), read_options=options, convert_options=convert_options(column_types)
    )
    with pytest.raises(pa.ArrowInvalid) as raised:
        reader.read_all()
    return raised.value, reader.schema


@pytest.mark.parametrize(
    ("first", "odd", "wider"),
    [
        (pa.int64(), "2.5", pa.float64()),
        (pa.int64(), "abc", pa.string()),
        (pa.null(), "7", pa.float64()),  # a column empty so far, then a number
        (pa.null(), "x", pa.string()),
        (pa.float64(), "abc", pa.string()),
        (pa.bool_(), "maybe", pa.string()),
    ],
)
def test_a_value_that_does_not_fit_widens_its_column(first, odd, wider):
    error, schema = conversion_error("key,value", "a,", f"b,{odd}", {"value": first})
    column_types = {"value": first}

    assert widen(error, schema, column_types)
    assert column_types == {"value": wider}


def test_the_error_names_the_column_by_its_place_in_the_file():
    error, schema = conversion_error("a,b,c", "1,2,3", "4,5,x", {"c": pa.int64()})
    column_types: dict[str, pa.DataType] = {}

    assert widen(error, schema, column_types)
    assert column_types == {"c": pa.string()}


def test_an_error_that_is_not_about_a_type_widens_nothing():
    column_types: dict[str, pa.DataType] = {}
    schema = pa.schema([("a", pa.int64()), ("b", pa.int64())])

    assert not widen(pa.ArrowInvalid("CSV parse error: Expected 2 columns, got 3"), schema, column_types)
    assert column_types == {}


def test_pandas_null_markers_read_as_nulls():
    data = b"n\n1\nNA\nn/a\nnull\n\n-nan\n2\n"
    table = csv.read_csv(io.BytesIO(data), convert_options=convert_options({}))

    assert table.column("n").type == pa.int64()
    assert table.column("n").null_count == 4  # the blank line is no row
