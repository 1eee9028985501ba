"""A CSV's columns counted off its header line, reading no further than the cap."""

import io

import pytest

from tabular.header import HEADER_MAX_BYTES, header_columns


@pytest.mark.parametrize(
    ("head", "columns"),
    [
        (b"a,b,c\n1,2,3\n", 3),
        (b"a,b\r\n1,2\r\n", 2),
        (b"only\n", 1),
        (b"a,b,c", 3),  # the whole file is its header line
        (b"", 1),
        (b'"a,b","c\nd",e\n1,2,3\n', 3),  # commas and line breaks inside quotes separate nothing
        (b'"x",",\n,",y\n', 3),
    ],
)
def test_the_header_line_names_the_columns(head, columns):
    assert header_columns(io.BytesIO(head)) == columns


def test_a_quote_left_open_counts_its_commas_too_many_never_too_few():
    # The open quote may hold line breaks: the header runs to the end, and every comma counts.
    assert header_columns(io.BytesIO(b'a,"b,c\n1,2\n')) == 4


def test_a_header_line_past_the_cap_is_none_and_read_no_further():
    file = io.BytesIO(b"x" * 3_000_000)

    assert header_columns(file, max_bytes=100_000) is None
    assert file.tell() == 100_001
    assert header_columns(io.BytesIO(b"x" * (HEADER_MAX_BYTES + 1))) is None
    assert header_columns(io.BytesIO(b"x" * HEADER_MAX_BYTES + b"\n")) == 1
