"""What a handler can know and say about the job it runs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from contracts.events import Progress

ReportProgress = Callable[[Progress], Awaitable[None]]
T = TypeVar("T")

# Seconds between looks at a worker thread's tally.
TALLY_EVERY = 0.5


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


class Cancelled(Exception):
    """The job was cancelled (the service is shutting down) while its worker thread ran."""


@dataclass
class Tally:
    """How far blocking work in a worker thread has got: the thread counts, the event loop reads.

    Plain ints written by one thread, so no lock is needed. `cancelled` is set
    when the job is cancelled (a shutdown): the thread calls `stop_if_cancelled`
    between steps, so that it stops early instead of working for nobody.
    """

    done: int = 0
    total: int | None = None
    unit: str = "items"
    cancelled: threading.Event = field(default_factory=threading.Event)

    def stop_if_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled("the job was cancelled")


async def in_thread(job: JobContext, tally: Tally, work: Callable[..., T], *args: Any) -> T:
    """Run blocking `work(*args)` in a worker thread, reporting `tally` as the job's progress.

    The event loop stays free meanwhile: a loop blocked by pandas or hashing
    misses the broker's heartbeats, loses its connection, and the job is
    delivered, and done, twice.
    """
    running = asyncio.ensure_future(asyncio.to_thread(work, *args))
    try:
        while not (await asyncio.wait({running}, timeout=TALLY_EVERY))[0]:
            if tally.done:
                done = tally.done if tally.total is None else min(tally.done, tally.total)
                await job.progress(done, tally.total, tally.unit)
    except BaseException:
        tally.cancelled.set()  # the thread itself cannot be cancelled: ask it to stop
        # Nobody awaits it any more: take its outcome (often `Cancelled`) so asyncio does not report it.
        running.add_done_callback(lambda finished: finished.cancelled() or finished.exception())
        raise
    result = running.result()
    if tally.total is not None:
        await job.progress(tally.total, tally.total, tally.unit)
    return result
