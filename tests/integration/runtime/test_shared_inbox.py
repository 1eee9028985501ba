"""The worker processes of one service share its inbox: two writing one SQLite file at once fail no job.

SQLite takes one writer at a time. The inbox's file is in WAL mode with a busy
timeout, and write transactions take the lock when they begin, so a writer in
another process waits its turn instead of failing with "database is locked"
(see `runtime.database`). Here two real processes open a fresh inbox file at
the same moment and finish thousands of messages each, side by side.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from devtools.processes import ROOT
from runtime.inbox import Inbox

EACH = 3000
WRITERS = ("first", "second")


def start_writer(url: str, prefix: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "support.inbox_writer", url, prefix, str(EACH)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests")},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_two_processes_finish_jobs_in_one_sqlite_inbox_at_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/inbox.db"
    writers = [start_writer(url, prefix) for prefix in WRITERS]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    # Both open the new file, and write it, from the same moment.
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()

    for writer in writers:
        _, errors = await asyncio.to_thread(writer.communicate, timeout=90)
        assert writer.returncode == 0, errors

    inbox = Inbox(url)
    await inbox.open()
    try:
        ids = [f"{prefix}-{number}" for prefix in WRITERS for number in range(EACH)]
        results = await asyncio.gather(*(inbox.result_of(message_id) for message_id in ids))
    finally:
        await inbox.close()
    assert results == [{"number": number} for _ in WRITERS for number in range(EACH)]
