"""Reading a dataset from storage: its schema first, then only the columns the pipeline uses, in batches.

Formats go by the file's suffix: `.parquet` (or `.pq`), `.csv`, and `.jsonl`
(or `.ndjson`, the form the gateway stores large inline batches in). Parquet
knows its row count and types up front; a CSV's types are inferred from its
first block and imposed on the rest. A later cell that does not fit widens its
column (integer to float, or to text, as pandas would type it) and the
analysis starts over (`ColumnWidened`); a cell that fits no type fails the job.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from analytics_service.limits import Limits
from runtime.errors import PermanentError, TooLarge
from runtime.job import Tally
from storage import Storage
from storage.csv_types import HEADER_MAX_BYTES, convert_options, header_columns, widen

Format = Literal["parquet", "csv", "jsonl"]
SUFFIXES: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
CSV_BLOCK_BYTES = 16 * 1024 * 1024
JSON_LINE_MAX_BYTES = 16 * 1024 * 1024
"""One record of JSON lines; a longer line is refused before it is read whole."""


class DatasetUnreadable(PermanentError):
    """The file is not what its suffix says, or is not readable as that format."""


class ColumnWidened(Exception):
    """A CSV column met a value its inferred type cannot hold: read the file again with the wider type."""


def dataset_format(key: str) -> Format:
    lowered = key.lower()
    for suffix, found in SUFFIXES.items():
        if lowered.endswith(suffix):
            return found
    raise DatasetUnreadable(f"{key!r}: unknown dataset format; give a .parquet, .csv or .jsonl file")


@contextlib.contextmanager
def unreadable_as_permanent(key: str) -> Iterator[None]:
    try:
        yield
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, UnicodeDecodeError) as error:
        raise DatasetUnreadable(f"cannot read {key!r}: {error}") from error


class ParquetDataset:
    def __init__(self, storage: Storage, key: str, limits: Limits, progress: Tally) -> None:
        self._storage = storage
        self._key = key
        self._limits = limits
        self._progress = progress
        self._file = storage.open_read(key)
        try:
            with storage.translate_errors(key), unreadable_as_permanent(key):
                self._parquet = pq.ParquetFile(self._file)
        except BaseException:
            self._file.close()
            raise
        self.schema: pa.Schema = self._parquet.schema_arrow
        self.rows: int = self._parquet.metadata.num_rows
        limits.check_rows(self.rows)
        progress.total, progress.unit = self.rows, "rows"

    def batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        with self._storage.translate_errors(self._key), unreadable_as_permanent(self._key):
            for batch in self._parquet.iter_batches(batch_size=self._limits.chunk_rows, columns=columns):
                self._progress.stop_if_cancelled()
                yield batch
                self._progress.done += batch.num_rows

    def close(self) -> None:
        self._file.close()


class CsvDataset:
    """A CSV; `column_types` holds the types widened on earlier reads, and widens as batches need it."""

    def __init__(
        self, storage: Storage, key: str, limits: Limits, progress: Tally, column_types: dict[str, pa.DataType]
    ) -> None:
        self._storage = storage
        self._key = key
        self._limits = limits
        self._progress = progress
        self._column_types = column_types
        progress.total, progress.unit, progress.done = storage.stat(key).size, "bytes", 0
        self._check_header()
        with self._reader(column_types=column_types) as (reader, _):
            inferred = reader.schema
        # A column empty in the first block is text: null is no type to hold to.
        self.schema = pa.schema(
            [pa.field(field.name, pa.string()) if pa.types.is_null(field.type) else field for field in inferred]
        )
        self.rows: int | None = None

    def _check_header(self) -> None:
        """Count the columns on the header line: pyarrow spends memory on each before any cap is checked."""
        with self._storage.translate_errors(self._key), contextlib.closing(self._storage.open_read(self._key)) as file:
            columns = header_columns(file)
        if columns is None:
            raise TooLarge(f"the dataset's header line is longer than {HEADER_MAX_BYTES} bytes")
        self._limits.check_dataset_columns(columns)

    def batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        types = {name: self.schema.field(name).type for name in columns}
        with self._reader(include_columns=columns, column_types=types) as (reader, file):
            try:
                for batch in reader:
                    self._progress.stop_if_cancelled()
                    yield batch
                    self._progress.done = file.tell()
            except pa.ArrowInvalid as error:
                if widen(error, self.schema, self._column_types):
                    raise ColumnWidened(str(error)) from error
                raise

    @contextlib.contextmanager
    def _reader(self, **convert: Any) -> Iterator[Any]:
        file = self._storage.open_read(self._key)
        try:
            with self._storage.translate_errors(self._key), unreadable_as_permanent(self._key):
                reader = pacsv.open_csv(
                    file,
                    read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                    convert_options=convert_options(**convert),
                )
                yield reader, file
        finally:
            file.close()

    def close(self) -> None:
        """Each read opens and closes its own file."""


def read_json_lines(storage: Storage, key: str, limits: Limits, progress: Tally) -> list[dict[str, Any]]:
    """Records stored one JSON object per line (as the gateway stores large inline batches)."""
    progress.total, progress.unit = storage.stat(key).size, "bytes"
    records: list[dict[str, Any]] = []
    with storage.translate_errors(key), contextlib.closing(storage.open_read(key)) as file:
        for number, line in enumerate(_bounded_lines(file, limits), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as error:
                raise DatasetUnreadable(f"{key!r} line {number}: not JSON: {error}") from error
            if not isinstance(record, dict):
                raise DatasetUnreadable(f"{key!r} line {number}: a record must be a JSON object")
            records.append(record)
            limits.check_rows(len(records))
            progress.done += len(line)
    return records


def _bounded_lines(file: Any, limits: Limits) -> Iterator[bytes]:
    """The file's lines, each read only as far as its cap, and all of them only as far as the JSON cap.

    The size in storage was checked first, but a file may grow after: the
    reads themselves stop at the caps, so no line is held whole before it is
    refused.
    """
    left = limits.max_json_bytes
    number = 0
    while True:
        cap = max(0, min(JSON_LINE_MAX_BYTES, left))
        line = file.readline(cap + 1)
        if not line:
            return
        number += 1
        if len(line.rstrip(b"\r\n")) > cap:
            if cap < JSON_LINE_MAX_BYTES:
                raise TooLarge(f"the JSON lines go past {limits.max_json_bytes} bytes, what fits the memory cap")
            raise TooLarge(f"line {number} of the JSON lines is longer than {JSON_LINE_MAX_BYTES} bytes")
        left -= len(line)
        yield line


def read_ahead(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The same batches, the next one read by a helper thread while the caller works on this one.

    Decoding Parquet or CSV releases the GIL, so reading overlaps with pandas;
    it costs one batch more in memory.
    """
    source = iter(batches)
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as reader:
        upcoming = reader.submit(next, source, None)
        while (batch := upcoming.result()) is not None:
            upcoming = reader.submit(next, source, None)
            yield batch


def open_dataset(
    storage: Storage, key: str, limits: Limits, progress: Tally, column_types: dict[str, pa.DataType] | None = None
) -> ParquetDataset | CsvDataset:
    """`column_types`: a CSV's columns widened by earlier reads, and widened further by this one."""
    fmt = dataset_format(key)
    if fmt == "parquet":
        return ParquetDataset(storage, key, limits, progress)
    return CsvDataset(storage, key, limits, progress, {} if column_types is None else column_types)
