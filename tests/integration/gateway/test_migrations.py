"""The job store's schema migrations, on a real SQLite file and a real PostgreSQL server.

Each test gets an empty database of its own: a new SQLite file, or a new
PostgreSQL database dropped afterwards (see `empty_postgres_database_url`).
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from contracts.events import TaskType
from gateway.database import gateway_database
from gateway.folding import queued_row
from gateway.migrations import alembic_config
from gateway.store import AcceptedJob, JobStore
from gateway.tables import jobs, metadata
from runtime.inbox import Inbox

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/jobs.db"
    return request.getfixturevalue("empty_postgres_database_url")


async def on_own_connection(url: str, work: Callable[[Connection], Any]) -> Any:
    """Run `work` in a transaction of a plain engine, outside the gateway's `Database`."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


def differences(conn: Connection) -> list[Any]:
    """What autogenerate would change to make the database match the models."""
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    return compare_metadata(context, metadata)


def revision(conn: Connection) -> list[str]:
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


async def open_and_close(url: str) -> None:
    database = gateway_database(url)
    await database.open()
    await database.close()


async def test_an_empty_database_gets_the_schema_of_the_models(database_url: str) -> None:
    await open_and_close(database_url)

    assert await on_own_connection(database_url, differences) == []
    assert await on_own_connection(database_url, revision) == [HEAD]


async def test_a_database_made_by_create_all_keeps_its_jobs_and_gets_a_version(database_url: str) -> None:
    job_id = uuid4()
    row = queued_row(job_id, TaskType.email, created_at=T0, now=T0)

    def made_by_create_all(conn: Connection) -> None:
        metadata.create_all(conn)
        # As the gateway's create_all left it: without the columns of later revisions.
        conn.execute(text("ALTER TABLE jobs DROP COLUMN replays"))
        conn.execute(jobs.insert().values({k: v for k, v in row.items() if k != "replays"}))

    await on_own_connection(database_url, made_by_create_all)

    database = gateway_database(database_url)
    await database.open()
    try:
        job = await JobStore(database).get(job_id)
    finally:
        await database.close()
    assert job is not None and job.created_at == T0
    assert await on_own_connection(database_url, revision) == [HEAD]
    assert await on_own_connection(database_url, differences) == []


async def test_a_database_from_before_last_replay_is_refused_not_stamped(database_url: str) -> None:
    def made_before_last_replay(conn: Connection) -> None:
        metadata.create_all(conn)
        conn.execute(text("ALTER TABLE jobs DROP COLUMN last_replay"))

    await on_own_connection(database_url, made_before_last_replay)

    with pytest.raises(RuntimeError, match="jobs.last_replay"):
        await open_and_close(database_url)
    assert "alembic_version" not in await on_own_connection(database_url, lambda conn: inspect(conn).get_table_names())


async def test_opening_a_current_database_again_changes_nothing(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = gateway_database(database_url)
    await database.open()
    store = JobStore(database)
    async with database.writes() as conn:
        await store.record_queued(conn, [AcceptedJob(uuid4(), TaskType.email, T0)])
    [job], _ = await store.list()
    await database.close()

    caplog.set_level(logging.INFO, logger="alembic")
    caplog.clear()
    database = gateway_database(database_url)
    await database.open()
    try:
        assert await JobStore(database).get(job.job_id) == job
    finally:
        await database.close()
    assert not [record for record in caplog.records if "Running" in record.getMessage()]
    assert await on_own_connection(database_url, revision) == [HEAD]


async def test_gateways_starting_together_migrate_once(database_url: str) -> None:
    # A TaskGroup, not gather: if one fails, the others stop with it rather
    # than go on migrating underneath the next test.
    async with asyncio.TaskGroup() as group:
        for _ in range(4):
            group.create_task(open_and_close(database_url))

    assert await on_own_connection(database_url, revision) == [HEAD]
    assert await on_own_connection(database_url, differences) == []


async def test_a_database_shared_with_an_inbox_is_new_to_the_gateway(database_url: str) -> None:
    # Compose points the services' inboxes at the gateway's PostgreSQL database,
    # and a service may start first: its table is not a gateway made by create_all.
    inbox = Inbox(database_url)
    await inbox.open()
    await inbox.close()

    await open_and_close(database_url)

    assert await on_own_connection(database_url, revision) == [HEAD]
    tables = await on_own_connection(database_url, lambda conn: inspect(conn).get_table_names())
    assert "inbox" in tables
    assert await on_own_connection(database_url, lambda conn: conn.execute(select(jobs)).all()) == []
