"""Retained records: noted once, stamped, and forgotten after the retention period."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, String, select

from runtime import retained
from runtime.retained import RetainedRecords, retained_table

notes = retained_table("test_notes", Column("key", String(16), primary_key=True), Column("text", String(16)))
NOON = datetime(2024, 5, 1, 12, tzinfo=UTC)


class Notes(RetainedRecords):
    """The smallest store: a text per key."""

    def __init__(self, url: str, retention: timedelta) -> None:
        super().__init__(url, notes, retention)
        self._writes = self._batcher(self._write)

    async def note(self, key: str, text: str) -> None:
        await self._writes.submit((key, text))

    async def all(self) -> dict[str, tuple[str, datetime]]:
        async with self._reads() as conn:
            rows = await conn.execute(select(notes))
        return {row.key: (row.text, row.finished_at) for row in rows}

    async def _write(self, entries: Sequence[tuple[str, str]]) -> list[None]:
        await self._note([{"key": key, "text": text} for key, text in entries])
        return [None] * len(entries)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The time the store sees; set `clock[0]` to move it."""
    now = [NOON]
    monkeypatch.setattr(retained, "utc_now", lambda: now[0])
    return now


@pytest.fixture
async def store(tmp_path: Path, clock) -> AsyncIterator[Notes]:
    store = Notes(f"sqlite+aiosqlite:///{tmp_path}/notes.db", timedelta(days=7))
    await store.open()
    yield store
    await store.close()


async def test_a_row_is_stamped_when_noted_and_a_second_note_of_it_changes_nothing(store, clock):
    await store.note("a", "first")
    clock[0] = NOON + timedelta(hours=1)
    await store.note("a", "second")

    assert await store.all() == {"a": ("first", NOON)}


async def test_purge_forgets_only_rows_older_than_the_retention(store, clock):
    await store.note("old", "x")
    clock[0] = NOON + timedelta(days=3)
    await store.note("recent", "y")

    clock[0] = NOON + timedelta(days=8)
    assert await store.purge() == 1
    assert set(await store.all()) == {"recent"}


async def test_opening_purges(tmp_path: Path, clock):
    url = f"sqlite+aiosqlite:///{tmp_path}/notes.db"
    store = Notes(url, timedelta(days=7))
    await store.open()
    await store.note("old", "x")
    await store.close()

    clock[0] = NOON + timedelta(days=8)
    reopened = Notes(url, timedelta(days=7))
    await reopened.open()
    try:
        assert await reopened.all() == {}
    finally:
        await reopened.close()


def test_each_retained_table_has_its_own_metadata_and_an_indexed_finished_at():
    assert notes.metadata is not retained_table("other", Column("key", String(1), primary_key=True)).metadata
    assert list(notes.metadata.tables) == ["test_notes"]
    assert notes.c.finished_at.index and not notes.c.finished_at.nullable
