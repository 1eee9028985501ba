"""The handler: the work in a thread, progress reported, small results inline, large ones as files."""

import asyncio
import json
import time
import uuid

import numpy as np
import pandas as pd

from analytics_service import handler as handler_module
from analytics_service.analysis import Outcome
from analytics_service.handler import AnalyticsHandler
from analytics_service.settings import AnalyticsSettings
from contracts.events import AnalysisRequested
from runtime.job import JobContext
from storage.local import LocalStorage
from support.city_sales import GROUPBY, GROUPED, RECORDS


class RecordingJob(JobContext):
    def __init__(self) -> None:
        self.reports = []
        super().__init__(uuid.uuid4(), 1, self._record, min_interval=0)

    async def _record(self, progress):
        self.reports.append(progress)


def settings(**overrides):
    return AnalyticsSettings(_env_file=None, **overrides)


async def test_inline_records_give_an_inline_result(tmp_path):
    handler = AnalyticsHandler(LocalStorage(tmp_path), settings())
    event = AnalysisRequested(records=RECORDS, operations=[GROUPBY])

    result = await handler(event, RecordingJob())

    assert result == GROUPED


async def test_a_large_result_goes_to_storage_named_by_its_keys(tmp_path):
    storage = LocalStorage(tmp_path)
    pd.DataFrame({"id": np.arange(3000), "x": np.arange(3000) * 0.5}).to_parquet(tmp_path / "big.parquet")
    handler = AnalyticsHandler(storage, settings(analytics_chunk_rows=500))
    event = AnalysisRequested(
        dataset="big.parquet", operations=[{"op": "filter", "column": "x", "operator": ">=", "value": 100}]
    )
    job = RecordingJob()

    result = await handler(event, job)

    key = f"results/{event.job_id}/result.parquet"
    assert result["rows"] == 2800 and result["input_rows"] == 3000
    assert result["files"] == {"parquet": key, "csv": key.replace(".parquet", ".csv")}
    assert str(tmp_path) not in json.dumps(result)  # never the storage root's local path
    assert len(result["preview"]) == 10 and "records" not in result
    assert pd.read_parquet(tmp_path / key)["id"].tolist() == list(range(200, 3000))
    assert job.reports[-1].done == job.reports[-1].total == 3000 and job.reports[-1].unit == "rows"


async def test_the_event_loop_stays_free_while_pandas_works(tmp_path, monkeypatch):
    def slow_analysis(*args):
        time.sleep(0.3)  # blocking, as pandas is
        return Outcome(pd.DataFrame({"a": [1]}), 1)

    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    monkeypatch.setattr(handler_module, "analyse", slow_analysis)
    handler = AnalyticsHandler(LocalStorage(tmp_path), settings())
    beat = asyncio.create_task(ticker())

    result = await handler(AnalysisRequested(records=[{"a": 1}], operations=[{"op": "describe"}]), RecordingJob())

    beat.cancel()
    assert result["records"] == [{"a": 1}]
    assert ticks >= 10  # the loop kept turning (heartbeats, progress) while the work ran
