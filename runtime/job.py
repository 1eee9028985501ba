"""What a handler can know and say about the job it runs."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from uuid import UUID

from contracts.events import Progress

ReportProgress = Callable[[Progress], Awaitable[None]]


class JobContext:
    """Handed to every handler next to its event.

    `progress()` may be called as often as convenient: reports are thinned to
    one per `min_interval` seconds, and the last one (done == total) always goes out.
    """

    def __init__(
        self,
        job_id: UUID,
        attempt: int,
        report: ReportProgress | None = None,
        *,
        min_interval: float = 0.5,
    ) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self._report = report
        self._min_interval = min_interval
        self._last_report = float("-inf")

    async def progress(self, done: int, total: int | None = None, unit: str = "items") -> None:
        if self._report is None:
            return
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last_report < self._min_interval:
            return
        self._last_report = now
        await self._report(Progress(done=done, total=total, unit=unit))
