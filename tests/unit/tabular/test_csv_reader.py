"""The one CSV reader: batches in types that hold for the whole file, the work run again when a column widens,
every byte counted on the job's tally, and the service's caps and errors applied."""

import contextlib

import pandas as pd
import pyarrow as pa
import pyarrow.csv
import pytest

from runtime.errors import TooLarge
from runtime.job import Cancelled, Tally
from tabular import CsvTable, read_csv

BLOCK = 1024  # types come from the first block only: a small block puts a late row past it


class Refused(Exception):
    """A service's own error for a file it cannot read."""


def no_cap(columns: int) -> None:
    """Any number of columns."""


def write(tmp_path, text: str):
    path = tmp_path / "data.csv"
    path.write_text(text)
    return path


def late_rows(*cells: str) -> str:
    """2,000 rows whose `n` is an integer, then one row per cell, all past the first block."""
    rows = [f"{'ab'[i % 2]},{i}" for i in range(2000)] + [f"a,{cell}" for cell in cells]
    return "\n".join(["kind,n", *rows]) + "\n"


def read(path, work, tally=None, **options):
    """`work` run by the reader over the CSV at `path`, with a tally of its size unless one is given."""
    tally = tally or Tally(total=path.stat().st_size, unit="bytes")
    options = {"block_bytes": BLOCK, "check_columns": no_cap, **options}
    return read_csv(lambda: open(path, "rb"), path.stat().st_size, tally, work, **options)


class Runs:
    """A work that reads the whole table, and notes the schema of every run it was given."""

    def __init__(self) -> None:
        self.schemas: list[pa.Schema] = []

    def __call__(self, table: CsvTable) -> pa.Table:
        self.schemas.append(table.schema)
        return pa.Table.from_batches(list(table.batches()), table.schema)


def test_a_file_whose_types_hold_is_read_once_and_counted_to_its_size(tmp_path):
    path = write(tmp_path, late_rows("2001"))
    tally, runs = Tally(total=path.stat().st_size), Runs()

    table = read(path, runs, tally)

    assert len(runs.schemas) == 1 and table.num_rows == 2001
    assert table.column("n").type == pa.int64()
    assert tally.done == tally.total == path.stat().st_size


@pytest.mark.parametrize(("cell", "wider"), [("2.5", pa.float64()), ("oops", pa.string())])
def test_a_late_cell_widens_its_column_and_the_work_runs_again_from_the_start(tmp_path, cell, wider):
    path = write(tmp_path, late_rows(cell))
    size = path.stat().st_size
    tally, runs = Tally(total=size), Runs()

    table = read(path, runs, tally)

    assert [schema.field("n").type for schema in runs.schemas] == [pa.int64(), wider]
    assert table.num_rows == 2001 and table.column("n").type == wider
    expected = pd.read_csv(path)["n"]
    assert table.column("n").to_pandas().astype(expected.dtype).tolist() == expected.tolist()
    # The second read is more work to do, not less done: the count only grows.
    assert tally.total == 2 * size and size < tally.done <= tally.total


def test_a_column_can_widen_twice_integer_to_float_to_text(tmp_path):
    path = write(tmp_path, late_rows(*["2.5"] + [str(i) for i in range(2000)] + ["oops"]))
    size = path.stat().st_size
    tally, runs = Tally(total=size), Runs()

    table = read(path, runs, tally)

    assert [schema.field("n").type for schema in runs.schemas] == [pa.int64(), pa.float64(), pa.string()]
    assert table.column("n").to_pylist()[-1] == "oops" and table.num_rows == 4002
    assert tally.total == 3 * size and tally.done <= tally.total


def test_a_ragged_file_is_left_to_the_service_to_refuse(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,4,5\n")

    with pytest.raises(pa.ArrowInvalid, match="Expected 2 columns, got 3"):
        read(path, Runs())


def test_reads_run_inside_the_guard_the_work_does_not(tmp_path):
    @contextlib.contextmanager
    def guard():
        try:
            yield
        except pa.ArrowInvalid as error:
            raise Refused(str(error)) from error

    with pytest.raises(Refused, match="Empty CSV"):
        read(write(tmp_path, ""), Runs(), guard=guard)
    with pytest.raises(Refused, match="Expected 2 columns, got 3"):
        read(write(tmp_path, "a,b\n1,2\n3,4,5\n"), Runs(), guard=guard)

    def failing(table):
        raise pa.ArrowInvalid("the work's own")

    with pytest.raises(pa.ArrowInvalid, match="the work's own"):
        read(write(tmp_path, "a,b\n1,2\n"), failing, guard=guard)


def test_fewer_columns_are_read_in_the_types_asked(tmp_path):
    path = write(tmp_path, "kind,empty,n\n" + "".join(f"a,,{i}\n" for i in range(2000)))
    tally = Tally(total=path.stat().st_size)

    def some(table):
        assert table.schema.field("empty").type == pa.null()
        return pa.Table.from_batches(list(table.batches(["n", "empty"], {"empty": pa.string()})))

    table = read(path, some, tally)

    assert table.schema.names == ["n", "empty"]  # as asked, not in file order
    assert table.column("empty").type == pa.string() and table.column("n").to_pylist() == list(range(2000))
    assert tally.done == tally.total  # the look at the head for the schema is not counted


def test_a_cancelled_job_stops_at_the_next_batch(tmp_path):
    path = write(tmp_path, late_rows())
    tally = Tally(total=path.stat().st_size)

    def cancelled_after_one(table):
        batches = table.batches()
        next(batches)
        tally.cancelled.set()  # as `in_thread` does when the service shuts down
        next(batches)

    with pytest.raises(Cancelled):
        read(path, cancelled_after_one, tally)


def test_a_job_cancelled_before_it_reads_stops_at_the_first_read(tmp_path):
    tally = Tally()
    tally.cancelled.set()

    with pytest.raises(Cancelled):
        read(write(tmp_path, late_rows()), Runs(), tally)


def test_the_service_cap_sees_the_header_count_before_pyarrow_parses_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, ",".join(f"c{i}" for i in range(30)) + "\n" + ",".join("1" * 30) + "\n")
    counted = []

    def capped(columns):
        counted.append(columns)
        if columns > 20:
            raise TooLarge(f"{columns} columns")

    monkeypatch.setattr(pyarrow.csv, "open_csv", lambda *args, **kwargs: pytest.fail("pyarrow parsed the file"))
    with pytest.raises(TooLarge, match="too_large: 30 columns"):
        read(path, Runs(), check_columns=capped)
    assert counted == [30]


def test_the_cap_sees_pyarrows_count_too(tmp_path):
    counted = []
    read(write(tmp_path, "a,b,c\n1,2,3\n"), Runs(), check_columns=counted.append)

    assert counted == [3, 3]  # the header's, then the parser's


def test_a_header_line_without_an_end_is_too_large_named_as_the_service_names_it(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(b"x" * 3_000_000)

    with pytest.raises(TooLarge, match="too_large: the header line is longer than 1048576 bytes"):
        read(path, Runs())
    with pytest.raises(TooLarge, match="too_large: the dataset's header line is longer than 1048576 bytes"):
        read(path, Runs(), header_line="the dataset's header line")
