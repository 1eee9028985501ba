"""Opening a SQLite database that another process is writing to waits its turn."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table

from runtime.database import Database

metadata = MetaData()
Table("things", metadata, Column("id", Integer, primary_key=True))


async def test_opening_waits_for_a_writer_that_holds_the_lock(tmp_path: Path) -> None:
    # A fresh file that another connection is writing to, as it is while a
    # process starting at the same moment prepares it. Switching to WAL then
    # meets a lock SQLite refuses at once, without the busy timeout: opening
    # must wait its turn, not fail with "database is locked".
    path = tmp_path / "shared.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE holder (id INTEGER)")

    async def release_soon() -> None:
        await asyncio.sleep(0.5)
        other.execute("COMMIT")

    database = Database(f"sqlite+aiosqlite:///{path}", metadata)
    try:
        await asyncio.gather(database.open(), release_soon())
        async with database.reads() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
        assert mode == "wal"
    finally:
        await database.close()
        other.close()
