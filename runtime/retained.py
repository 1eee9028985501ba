"""Retained records: finished work noted in a table for as long as it could come back, then forgotten.

At-least-once delivery brings a message back after a crash, and a retry runs a
job again; to skip work already done, a store notes it as it finishes. Each
row is written once, stamped with when (`finished_at`), never changed, and is
of no use past the retention period, when no redelivery or retry can come: a
store forgets such rows each time it opens. The runtime's inbox (finished
messages) and notify_service's deliveries (finished targets) are such stores.
SQLite by default, PostgreSQL when replicas on several hosts share the work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Column, MetaData, Table, delete
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import utc_now
from runtime.batch import Batcher, Outcome
from runtime.database import Database, UTCDateTime

T = TypeVar("T")
R = TypeVar("R")


def retained_table(name: str, *columns: Column[Any]) -> Table:
    """A table of `columns` and the time each row was noted, with a metadata of its own."""
    return Table(name, MetaData(), *columns, Column("finished_at", UTCDateTime, nullable=False, index=True))


class RetainedRecords:
    """The rows of a `retained_table`, in the database at `url`, kept for `retention`.

    A subclass says what its rows mean: it reads them in `_reads()` and writes
    them with `_note`, batching concurrent callers with `_batcher`.
    """

    def __init__(self, url: str, table: Table, retention: timedelta) -> None:
        # A row lost to a power cut costs at most one repeated piece of work, which
        # at-least-once delivery allows anyway; a disk sync per commit is not worth it.
        self._db = Database(url, table.metadata, power_safe=False)
        self._table = table
        self._retention = retention
        self._batchers: list[Batcher[Any, Any]] = []

    async def open(self) -> None:
        await self._db.open()
        await self.purge()

    async def close(self) -> None:
        for batcher in self._batchers:
            await batcher.close()
        await self._db.close()

    async def purge(self) -> int:
        """Forget rows noted longer ago than any redelivery or retry could come; how many went."""
        finished_at = self._table.c.finished_at
        async with self._db.writes() as conn:
            outcome = await conn.execute(delete(self._table).where(finished_at < utc_now() - self._retention))
        return outcome.rowcount

    def _batcher(self, run: Callable[[Sequence[T]], Awaitable[Sequence[Outcome[R]]]]) -> Batcher[T, R]:
        """Lookups or records from concurrent jobs, made one query or one transaction (closed with the store)."""
        batcher: Batcher[T, R] = Batcher(run)
        self._batchers.append(batcher)
        return batcher

    def _reads(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction for reading rows."""
        return self._db.reads()

    async def _note(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write `rows`, stamped with the time, in one transaction; a row already there stays as it was."""
        now = utc_now()
        async with self._db.writes() as conn:
            await conn.execute(self._db.insert_if_absent(self._table), [{**row, "finished_at": now} for row in rows])
