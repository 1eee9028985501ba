"""Blocking work in a worker thread: its progress reaches the job, and a cancelled job stops it."""

import asyncio
import gc
import threading
import time
from uuid import uuid4

import pytest

from contracts.events import Progress
from runtime.job import Cancelled, JobContext, Tally, in_thread


def counting(tally: Tally, upto: int, ended: list[BaseException | None], stopped: threading.Event) -> int:
    """Count to `upto`, a step every millisecond, checking for cancellation at each step."""
    tally.total, tally.unit = upto, "steps"
    try:
        while tally.done < upto:
            tally.stop_if_cancelled()
            time.sleep(0.001)
            tally.done += 1
        ended.append(None)
        return tally.done
    except BaseException as error:
        ended.append(error)
        raise
    finally:
        stopped.set()


async def test_progress_is_reported_while_the_thread_works_and_its_result_returned():
    reports: list[Progress] = []

    async def report(progress: Progress) -> None:
        reports.append(progress)

    tally, ended, stopped = Tally(), [], threading.Event()
    job = JobContext(uuid4(), 1, report, min_interval=0)
    result = await in_thread(job, tally, counting, tally, 1500, ended, stopped)

    assert result == 1500 and ended == [None]
    assert len(reports) >= 2, "progress while running, then the final report"
    assert reports[-1] == Progress(done=1500, total=1500, unit="steps")
    assert all(earlier.done <= later.done for earlier, later in zip(reports, reports[1:], strict=False))


async def test_a_cancelled_job_stops_its_thread_at_the_next_check():
    loop = asyncio.get_running_loop()
    unhandled: list[dict] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    try:
        tally, ended, stopped = Tally(), [], threading.Event()
        job = JobContext(uuid4(), 1)
        running = asyncio.create_task(in_thread(job, tally, counting, tally, 10**9, ended, stopped))
        while tally.done == 0:
            await asyncio.sleep(0.01)

        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

        assert await asyncio.to_thread(stopped.wait, 5), "the thread went on after its job was cancelled"
        assert len(ended) == 1 and isinstance(ended[0], Cancelled)
        await asyncio.sleep(0.05)  # the thread's outcome reaches the loop
        gc.collect()
        assert unhandled == [], "the thread's Cancelled was reported as never retrieved"
    finally:
        loop.set_exception_handler(previous_handler)
