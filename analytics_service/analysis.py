"""One analysis from start to end, blocking: the handler runs it in a worker thread.

Inline records become a frame at once. A dataset's schema is read first: the
pipeline is checked against it, only the columns it uses are read, in
batches, and, when the pipeline allows it, reduced batch by batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from analytics_service.chunks import ChunkPlan, chunk_plan
from analytics_service.frames import frame_from_records, schema_of_arrow, schema_of_frame
from analytics_service.limits import Limits
from analytics_service.pipeline import run_pipeline
from analytics_service.reading import (
    CsvDataset,
    ParquetDataset,
    dataset_format,
    read_ahead,
    read_dataset,
    read_json_lines,
)
from contracts.analysis import Operation
from contracts.events import Analysis
from contracts.pipeline_check import PipelineInvalid, Schema, check_pipeline, source_columns
from runtime.errors import PermanentError
from runtime.job import Tally
from storage import Storage


class PipelineRejected(PermanentError):
    """The pipeline names a column that is not there, or asks a column for what its type cannot give."""


@dataclass(frozen=True)
class Outcome:
    table: pd.DataFrame
    input_rows: int


def analyse(request: Analysis, storage: Storage, limits: Limits, progress: Tally) -> Outcome:
    if request.records is not None:
        return analyse_records(request.records, request.operations, limits, progress)
    key = storage.key(request.dataset or "")
    if dataset_format(key) == "jsonl":
        size = storage.stat(key).size
        limits.check_bytes(size)
        limits.check_json_bytes(size)  # before a byte is read: records take many times their JSON
        return analyse_records(read_json_lines(storage, key, limits, progress), request.operations, limits, progress)
    return analyse_dataset(storage, key, request.operations, limits, progress)


def analyse_records(
    records: Sequence[dict[str, Any]], operations: Sequence[Operation], limits: Limits, progress: Tally
) -> Outcome:
    limits.check_rows(len(records))
    frame = frame_from_records(records)
    limits.check_columns(len(frame.columns))
    check(schema_of_frame(frame), operations)
    table = run_pipeline(frame, operations, limits)
    progress.done = progress.total = len(records)
    progress.unit = "rows"
    return Outcome(table, len(records))


def analyse_dataset(
    storage: Storage, key: str, operations: Sequence[Operation], limits: Limits, progress: Tally
) -> Outcome:
    file = storage.stat(key)
    limits.check_bytes(file.size)
    return read_dataset(
        storage, file, limits, progress, lambda dataset: _analyse_dataset(dataset, operations, limits, progress)
    )


def _analyse_dataset(
    dataset: ParquetDataset | CsvDataset, operations: Sequence[Operation], limits: Limits, progress: Tally
) -> Outcome:
    schema = schema_of_arrow(dataset.schema)
    check(schema, operations)
    columns = source_columns(schema, operations)
    limits.check_columns(len(columns))
    batches = _CountedBatches(read_ahead(dataset.batches(columns)), limits)
    empty = dataset.schema.empty_table().select(columns)
    plan = chunk_plan({name: schema[name] for name in columns}, operations)
    if plan is not None:
        table = _in_chunks(batches, empty, plan, limits)
    else:
        table = run_pipeline(_whole(batches, empty, limits), operations, limits)
    if progress.total is not None:
        progress.done = progress.total
    return Outcome(table, batches.rows)


def check(schema: Schema, operations: Sequence[Operation]) -> None:
    try:
        check_pipeline(schema, operations)
    except PipelineInvalid as error:
        raise PipelineRejected(str(error)) from error


class _CountedBatches:
    """Batches, counting rows against the cap as they come (a CSV's count is only known at its end)."""

    def __init__(self, batches: Iterable[pa.RecordBatch], limits: Limits) -> None:
        self._batches = batches
        self._limits = limits
        self.rows = 0

    def __iter__(self):  # noqa: ANN204 - a generator of record batches
        for batch in self._batches:
            self.rows += batch.num_rows
            self._limits.check_rows(self.rows)
            yield batch


def _in_chunks(batches: Iterable[pa.RecordBatch], empty: pa.Table, plan: ChunkPlan, limits: Limits) -> pd.DataFrame:
    added = False
    for batch in batches:
        plan.reducer.add(run_pipeline(batch.to_pandas(), plan.row_operations, limits))
        limits.check_memory(plan.reducer.nbytes)
        added = True
    if not added:  # no rows at all: the reduction of an empty table, with its columns
        plan.reducer.add(run_pipeline(empty.to_pandas(), plan.row_operations, limits))
    return run_pipeline(plan.reducer.result(), plan.rest, limits, plan.rest_start)


def _whole(batches: Iterable[pa.RecordBatch], empty: pa.Table, limits: Limits) -> pd.DataFrame:
    held: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        size += batch.nbytes
        limits.check_memory(size)
        held.append(batch)
    table = pa.Table.from_batches(held, schema=empty.schema) if held else empty
    held.clear()
    # Frees each Arrow column once converted: the peak is one copy plus a column, not two copies.
    return table.to_pandas(self_destruct=True, split_blocks=True)
