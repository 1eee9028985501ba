"""Run one requested analysis and report its result.

The pandas work blocks, so it runs in a worker thread: the event loop stays
free to answer AMQP heartbeats (a starved heartbeat drops the connection and
the job is delivered, and computed, twice) and to report progress.
"""

from __future__ import annotations

import asyncio
from typing import Any

from analytics_service.analysis import analyse
from analytics_service.results import file_result, inline_result
from analytics_service.settings import AnalyticsSettings
from contracts.events import AnalysisRequested
from runtime.job import JobContext, Tally, in_thread
from storage import Storage


class AnalyticsHandler:
    def __init__(self, storage: Storage, settings: AnalyticsSettings) -> None:
        self._storage = storage
        self._settings = settings
        # Each analysis may hold up to the memory cap: this many at once bounds the process.
        self._slots = asyncio.Semaphore(settings.analytics_concurrency)

    async def __call__(self, event: AnalysisRequested, job: JobContext) -> dict[str, Any]:
        async with self._slots:
            tally = Tally()
            return await in_thread(job, tally, self._analyse, event, tally)

    def _analyse(self, event: AnalysisRequested, progress: Tally) -> dict[str, Any]:
        settings = self._settings
        outcome = analyse(event, self._storage, settings.limits, progress)
        result = inline_result(
            outcome.table, settings.analytics_inline_result_rows, settings.analytics_inline_result_bytes
        )
        if result is None:
            # Named by the job, so a repeated delivery overwrites its own files rather than adding more.
            prefix = f"{settings.analytics_results_prefix}/{event.job_id}"
            result = file_result(outcome.table, self._storage, prefix)
        return {"input_rows": outcome.input_rows, **result}
