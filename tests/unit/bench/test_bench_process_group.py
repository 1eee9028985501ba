"""A peer's command is stopped with everything it started: what outlives SIGTERM is killed and counted."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.peers.workers import ProcessGroup, group_members

# A parent that exits on SIGTERM, with a child that ignores SIGTERM and would run on.
PARENT_AND_STUBBORN_CHILD = """
import subprocess, sys, time
stubborn = "import signal as s, time; s.signal(s.SIGTERM, s.SIG_IGN); print('up', flush=True); time.sleep(600)"
child = subprocess.Popen([sys.executable, "-c", stubborn])
print(child.pid, flush=True)
time.sleep(600)
"""
SLEEPER = "import time; print('up', flush=True); time.sleep(600)"


def lines_once_there(path: Path, count: int, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise TimeoutError(f"{path} has fewer than {count} lines after {timeout} s")


def test_a_child_that_outlives_sigterm_is_killed_and_counted_as_a_stray(tmp_path):
    command = ProcessGroup([sys.executable, "-c", PARENT_AND_STUBBORN_CHILD], {}, tmp_path / "out.log").start()
    # Both lines: the child's pid (from the parent) and the child's own, so it has set its SIGTERM handler.
    child = next(int(line) for line in lines_once_there(tmp_path / "out.log", 2) if line.isdigit())
    assert child in group_members(command.pid)

    command.stop(shutdown_grace=10, group_grace=0.5)

    assert command.strays == 1
    assert group_members(command.pid) == []


def test_a_command_whose_processes_all_exit_on_sigterm_leaves_no_stray(tmp_path):
    command = ProcessGroup([sys.executable, "-c", SLEEPER], {}, tmp_path / "out.log").start()
    lines_once_there(tmp_path / "out.log", 1)

    command.stop(shutdown_grace=10, group_grace=0.5)

    assert command.strays == 0
    assert command.exit_code() is not None
    assert group_members(command.pid) == []
