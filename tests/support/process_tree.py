"""Processes seen from outside, as an operator sees them: a process's children, and whether one is gone.

Read from /proc (Linux), so a test needs nothing from the processes it watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path


def children_of(pid: int) -> set[int]:
    """The pids of the live children of process `pid` (any of its threads may have started them)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found.update(int(child) for child in (task / "children").read_text().split())
    return {child for child in found if not is_gone(child)}


def is_gone(pid: int) -> bool:
    """Exited: no longer in /proc, or a zombie that its (new) parent has yet to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


async def wait_until(condition: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = 30.0) -> None:
    """Poll `condition` (plain or async) until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if not isinstance(held, bool):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.05)
