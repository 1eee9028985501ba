"""The one CSV reader: record batches with pyarrow, block by block, in types that hold for the whole file.

pyarrow types each column from the file's first block. When a later block
holds a value that type cannot, the reader widens the column
(`tabular.column_types`) and runs the caller's work again, from the start of
the file, with the wider type. So the work must be one that a second run
redoes from scratch (statistics gathered again, an output written again).

The batches are read through a `MeteredReader`: the job's tally counts the
bytes, and a cancelled job stops at its next read or batch. A read that
starts over adds the file's size to the tally's total: more work to do, not
less done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import BinaryIO, TypeVar

import pyarrow as pa
from pyarrow import csv

from runtime.errors import TooLarge
from runtime.job import Tally
from runtime.metering import MeteredReader
from tabular.column_types import convert_options, widen
from tabular.header import HEADER_MAX_BYTES, header_columns

T = TypeVar("T")
Opener = Callable[[], BinaryIO]
Guard = Callable[[], contextlib.AbstractContextManager[object]]


class ColumnWidened(Exception):
    """A block held a value its column's type cannot: the work starts over, with that column wider."""


def read_csv(
    open_file: Opener,
    size: int,
    tally: Tally,
    work: Callable[[CsvTable], T],
    *,
    block_bytes: int,
    check_columns: Callable[[int], None],
    header_line: str = "the header line",
    guard: Guard = contextlib.nullcontext,
) -> T:
    """`work(table)` on the CSV that `open_file` opens (`size` bytes), again from the start whenever a column widens.

    `check_columns` raises when the service takes no CSV of that many
    columns: it is given the header line's count before pyarrow parses the
    file, then pyarrow's own, should it differ. A header line longer than
    `HEADER_MAX_BYTES` is refused as `TooLarge`, named `header_line` in the
    message. Every read of the file runs inside `guard()`, where the service
    turns a storage or pyarrow error into its own; the errors of `work`
    itself are left to the service.
    """
    with guard(), contextlib.closing(open_file()) as file:
        columns = header_columns(file)
    if columns is None:
        raise TooLarge(f"{header_line} is longer than {HEADER_MAX_BYTES} bytes")
    check_columns(columns)
    column_types: dict[str, pa.DataType] = {}
    while True:
        table = CsvTable(open_file, tally, column_types, block_bytes, guard)
        check_columns(len(table.schema))
        try:
            return work(table)
        except ColumnWidened:
            if tally.total is not None:
                tally.total += size  # the whole file is read again


class CsvTable:
    """A CSV as far as its first block tells: its schema, in the types the columns widened so far keep.

    The batches are read from storage when asked for, each time from the
    start of the file.
    """

    def __init__(
        self, open_file: Opener, tally: Tally, column_types: dict[str, pa.DataType], block_bytes: int, guard: Guard
    ) -> None:
        self._open_file = open_file
        self._tally = tally
        self._column_types = column_types
        self._block_bytes = block_bytes
        self._guard = guard
        # Not counted: a look at the head, which the batches then read with the rest.
        with guard(), contextlib.closing(open_file()) as file:
            self.schema: pa.Schema = self._reader(file).schema
            """Every column of the file, in file order."""

    def batches(
        self, columns: Sequence[str] | None = None, types: Mapping[str, pa.DataType] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The file's record batches: all columns, or only `columns`, read in the schema's types or as `types` says.

        `types` may only widen what the schema says (a column empty in the
        first block read as text, say). Raises `ColumnWidened` at a block that
        does not fit, for `read_csv` to start over.
        """
        with self._guard(), MeteredReader(self._open_file(), self._tally) as file:
            reader = self._reader(file, columns, types)
            try:
                for batch in reader:
                    self._tally.stop_if_cancelled()
                    yield batch
            except pa.ArrowInvalid as error:
                if widen(error, self.schema, self._column_types):
                    raise ColumnWidened(str(error)) from error
                raise

    def _reader(
        self, file: BinaryIO, columns: Sequence[str] | None = None, types: Mapping[str, pa.DataType] | None = None
    ) -> csv.CSVStreamingReader:
        chosen = {} if columns is None else {"include_columns": list(columns)}
        return csv.open_csv(
            file,
            read_options=csv.ReadOptions(block_size=self._block_bytes),
            convert_options=convert_options({**self._column_types, **(types or {})}, **chosen),
        )
