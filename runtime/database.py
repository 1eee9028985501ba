"""A SQL database for the processes that keep state: SQLite by default, PostgreSQL by URL.

The gateway keeps its jobs, outbox and idempotency keys here; each service
keeps its inbox. Writes that belong together share one transaction from
`Database.writes()`. Opening one brings its schema up to date: by default
`create_all`, or a migration the owner passes in (the gateway runs Alembic).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, Table, TypeDecorator, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.event import listens_for
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

# none_as_null: a cleared field is SQL NULL, not the JSON text 'null'.
JSONOrNull = JSON(none_as_null=True)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp that always comes back in UTC.

    PostgreSQL keeps the offset (timestamptz); SQLite stores text and drops it.
    Writing UTC and reading back as UTC makes both backends agree, and keeps
    SQLite's text values in an order that compares correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: only aware times are stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Seconds a SQLite writer waits for another one's lock before giving up.
SQLITE_BUSY_TIMEOUT = 5.0

# Execution option that makes a SQLite transaction take the write lock at
# BEGIN (see `_configure_sqlite`).
_SQLITE_BEGIN_IMMEDIATE = "offload_sqlite_begin_immediate"


def _configure_sqlite(engine: AsyncEngine, synchronous: str) -> None:
    @listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Let SQLAlchemy emit BEGIN (below) instead of the sqlite3 module,
        # which delays it and cannot ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # busy_timeout makes a second writer wait for the lock. WAL lets readers
        # and the writer proceed together; FULL syncs every commit to disk (it
        # survives a power loss), NORMAL only survives a crash of the process.
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
        _switch_to_wal(cursor)
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction that reads first must hold the write lock from
        # the start: upgrading a read lock later fails at once under WAL when
        # another writer committed meanwhile, whatever the busy timeout.
        if connection.get_execution_options().get(_SQLITE_BEGIN_IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode, waiting for processes that open it at the same moment.

    Two connections switching a fresh file at once each hold a read lock and
    want the write lock; SQLite refuses one of them at once, without the busy
    timeout (waiting would deadlock), so the loser tries again once the winner
    is done. This runs in the driver's thread, not on the event loop.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


# INSERT ... ON CONFLICT DO NOTHING is dialect-specific SQL: two writers
# inserting the same job never raise a duplicate key, the loser inserts nothing.
_INSERT_IF_ABSENT: dict[str, Callable[[Table], Insert]] = {
    "postgresql": lambda table: postgresql.insert(table).on_conflict_do_nothing(),
    "sqlite": lambda table: sqlite.insert(table).on_conflict_do_nothing(),
}


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


class Database:
    """The tables of `metadata`, in the database at `url`.

    `power_safe`: on SQLite, sync every commit to disk, so that a commit
    survives a power loss and not only a crash of the process.

    `prepare_schema` brings the schema up to date when the database is opened,
    inside one write transaction. By default it creates the missing tables of
    `metadata` and changes none that exist: enough for tables whose rows are
    disposable records kept for days (a service's inbox, notify's deliveries),
    which may be dropped when their shape changes. Tables that must keep their
    rows across a change pass a migration instead (see `gateway.migrations`).
    """

    def __init__(
        self,
        url: str,
        metadata: MetaData,
        *,
        power_safe: bool = True,
        prepare_schema: Callable[[Connection], None] | None = None,
    ) -> None:
        self._url = make_url(url)
        self._prepare_schema = prepare_schema or metadata.create_all
        self._synchronous = "FULL" if power_safe else "NORMAL"
        backend = self._url.get_backend_name()
        if backend not in _INSERT_IF_ABSENT:
            raise ValueError(f"the database must be sqlite or postgresql, not {backend}")
        self._insert_if_absent = _INSERT_IF_ABSENT[backend]
        # SQLite has one writer at a time, and waiting writers poll for the lock
        # with growing sleeps, so under load one can starve for seconds. Queueing
        # this process's writers here instead serves them in turn.
        self._one_writer = asyncio.Lock() if backend == "sqlite" else contextlib.nullcontext()
        self._engine: AsyncEngine | None = None
        # The same engine and pool, for transactions that write (see `open`).
        self._write_engine: AsyncEngine | None = None

    async def open(self) -> None:
        """Connect, and bring the schema up to date (see `prepare_schema`)."""
        engine = create_async_engine(self._url)
        if engine.dialect.name == "sqlite":
            path = _sqlite_file(self._url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            _configure_sqlite(engine, self._synchronous)
        self._engine = engine
        # Shares the engine's pool; only changes how a SQLite transaction begins.
        self._write_engine = engine.execution_options(**{_SQLITE_BEGIN_IMMEDIATE: True})
        # A write transaction: on SQLite it holds the write lock from BEGIN, so
        # processes opening the same file at once prepare it one after another.
        async with self._write_engine.begin() as conn:
            await conn.run_sync(self._prepare_schema)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = self._write_engine = None

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self.reads() as conn:
            await conn.execute(text("SELECT 1"))

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncConnection]:
        """A transaction for reading (one snapshot for all its queries)."""
        async with self._engines()[0].begin() as conn:
            yield conn

    @asynccontextmanager
    async def writes(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that writes; on SQLite it holds the write lock from the start."""
        async with self._one_writer, self._engines()[1].begin() as conn:
            yield conn

    def insert_if_absent(self, table: Table) -> Insert:
        return self._insert_if_absent(table)

    def _engines(self) -> tuple[AsyncEngine, AsyncEngine]:
        if self._engine is None or self._write_engine is None:
            raise RuntimeError("the database is not open; await open() first")
        return self._engine, self._write_engine
