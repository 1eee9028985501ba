"""A peer's command (its workers, or its prefill) in a process group of its own.

Taskiq and Celery fork their worker processes; the group lets the bench make
sure none outlives the measurement. Stopping sends SIGTERM to the command
(each library's own graceful shutdown); whatever of the group still runs a
few seconds after is counted as a stray and SIGKILLed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.system import ROOT

# Seconds the command gets to shut down on SIGTERM, then its group to be gone.
SHUTDOWN_GRACE = 30.0
GROUP_GRACE = 5.0


def group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it exited while we looked
            continue
        # The fields after the command name, which is in parentheses and may hold spaces.
        state, _parent, pgrp = stat.rpartition(")")[2].split()[:3]
        if int(pgrp) == group and state != "Z":
            members.append(int(entry.name))
    return members


def _gone_within(group: int, seconds: float) -> list[int]:
    """Wait until no process of `group` runs, for `seconds` at most; returns those still running."""
    deadline = time.monotonic() + seconds
    while (members := group_members(group)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


class ProcessGroup:
    """One command and the processes it starts, with its output in a log file."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        # `bench` is not an installed package: the workers import it from the checkout.
        self._env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **env}
        self._popen: subprocess.Popen[bytes] | None = None
        self.strays = 0

    def start(self) -> ProcessGroup:
        with self.log_path.open("wb") as log:
            self._popen = subprocess.Popen(
                self.argv, cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    @property
    def pid(self) -> int:
        """The command's pid, which is also its process group's id."""
        assert self._popen is not None
        return self._popen.pid

    def exit_code(self) -> int | None:
        """None while the command runs."""
        assert self._popen is not None
        return self._popen.poll()

    def stop(self, shutdown_grace: float = SHUTDOWN_GRACE, group_grace: float = GROUP_GRACE) -> None:
        """SIGTERM the command; then SIGKILL, and count, any process of its group still running."""
        if self._popen is None:
            return
        group = self.pid
        if self._popen.poll() is None:
            self._popen.send_signal(signal.SIGTERM)
            try:
                self._popen.wait(shutdown_grace)
            except subprocess.TimeoutExpired:
                pass
        left = _gone_within(group, group_grace)
        if left:
            self.strays = len(left)
            os.killpg(group, signal.SIGKILL)
            _gone_within(group, group_grace)
        self._popen.wait()

    def output_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
