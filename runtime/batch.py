"""Group commit: many small database writes, made as one.

Each job costs a few short transactions (record it, fold its status, note it
finished). One at a time, SQLite spends most of that on round trips and on
writers queueing for its lock. A `Batcher` lets every caller submit its item
and wait for its own result, while a single worker hands everything that
queued up meanwhile to one batch function, in one transaction. Batches form
by themselves under load (no timer, no added latency when idle).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# What a batch function returns per item: its result, or the error of that item alone.
Outcome = R | BaseException


class Batcher(Generic[T, R]):
    def __init__(self, run: Callable[[Sequence[T]], Awaitable[Sequence[Outcome[R]]]], max_size: int = 256) -> None:
        """`run` gets the items of one batch and returns one outcome per item, in order;
        if it raises, every item of that batch fails with its error."""
        self._run = run
        self._max_size = max_size
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        if self._worker is None:
            self._worker = asyncio.create_task(self._work())
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._wake.set()
        return await future

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        for _, future in self._pending:
            if not future.done():
                future.set_exception(RuntimeError("the batcher was closed"))
        self._pending.clear()

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[: self._max_size], self._pending[self._max_size :]
                await self._run_batch(batch)

    async def _run_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            outcomes = await self._run([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as error:
            outcomes = [error] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the caller gave up (cancelled) meanwhile
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
