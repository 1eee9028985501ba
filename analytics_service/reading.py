"""Reading a dataset from storage: its schema first, then only the columns the pipeline uses, in batches.

Formats go by the file's suffix: `.parquet` (or `.pq`), `.csv`, and `.jsonl`
(or `.ndjson`, the form the gateway stores large inline batches in). Parquet
knows its row count and types up front; a CSV is read by the one CSV reader
(`tabular`): its types are inferred from its first block and imposed on the
rest, a later cell that does not fit widens its column (integer to float, or
to text, as pandas would type it) and the analysis starts over; a cell that
fits no type fails the job.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from analytics_service.limits import Limits
from runtime.errors import PermanentError, TooLarge
from runtime.job import Tally
from runtime.metering import MeteredReader
from storage import Storage, StoredFile
from tabular import CsvTable, read_csv

T = TypeVar("T")
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


def dataset_format(key: str) -> Format:
    lowered = key.lower()
    for suffix, found in SUFFIXES.items():
        if lowered.endswith(suffix):
            return found
    raise DatasetUnreadable(f"{key!r}: unknown dataset format; give a .parquet, .csv or .jsonl file")


@contextlib.contextmanager
def reading_errors(storage: Storage, key: str) -> Iterator[None]:
    """Storage's errors as storage sorts them, and a file its format cannot read as `DatasetUnreadable`."""
    with storage.translate_errors(key):
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
            with reading_errors(storage, key):
                self._parquet = pq.ParquetFile(self._file)
        except BaseException:
            self._file.close()
            raise
        self.schema: pa.Schema = self._parquet.schema_arrow
        self.rows: int = self._parquet.metadata.num_rows
        limits.check_rows(self.rows)
        progress.total, progress.unit = self.rows, "rows"

    def batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        with reading_errors(self._storage, self._key):
            for batch in self._parquet.iter_batches(batch_size=self._limits.chunk_rows, columns=columns):
                self._progress.stop_if_cancelled()
                yield batch
                self._progress.done += batch.num_rows

    def close(self) -> None:
        self._file.close()


class CsvDataset:
    """A CSV as the analysis reads it: a column empty in the first block is text, as null is no type to hold to."""

    def __init__(self, table: CsvTable) -> None:
        self._table = table
        self.schema = pa.schema(
            [pa.field(field.name, pa.string()) if pa.types.is_null(field.type) else field for field in table.schema]
        )

    def batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        return self._table.batches(columns, {name: self.schema.field(name).type for name in columns})


def read_json_lines(storage: Storage, key: str, limits: Limits, progress: Tally) -> list[dict[str, Any]]:
    """Records stored one JSON object per line (as the gateway stores large inline batches)."""
    progress.total, progress.unit = storage.stat(key).size, "bytes"
    records: list[dict[str, Any]] = []
    with storage.translate_errors(key), io.BufferedReader(MeteredReader(storage.open_read(key), progress)) as file:
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


def read_dataset(
    storage: Storage,
    file: StoredFile,
    limits: Limits,
    progress: Tally,
    work: Callable[[ParquetDataset | CsvDataset], T],
) -> T:
    """`work(dataset)`; for a CSV, again from the start whenever a column widens, so the new type is checked too."""
    if dataset_format(file.key) == "parquet":
        dataset = ParquetDataset(storage, file.key, limits, progress)
        try:
            return work(dataset)
        finally:
            dataset.close()
    progress.total, progress.unit = file.size, "bytes"
    return read_csv(
        lambda: storage.open_read(file.key),
        file.size,
        progress,
        lambda table: work(CsvDataset(table)),
        block_bytes=CSV_BLOCK_BYTES,
        check_columns=limits.check_dataset_columns,
        header_line="the dataset's header line",
        guard=lambda: reading_errors(storage, file.key),
    )
