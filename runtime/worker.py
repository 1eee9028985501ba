"""A worker's side of a supervised service: which worker it is, and its line to the supervisor.

With WORKERS above 1, a service's process becomes a supervisor (`runtime.supervisor`)
that starts each worker as a new process running the same command, marked by
two environment variables: the worker's number, and a socket it shares with
the supervisor. Over that socket the worker says whether it is ready (connected
and attached to its queue). The supervisor never writes to it: the socket
reaches its end only when the supervisor is gone, even by SIGKILL, and the
worker then stops as on SIGTERM, so no worker outlives its supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import structlog

from runtime.probe import Checks

log = structlog.get_logger("offload.worker")

WORKER_NUMBER = "OFFLOAD_WORKER"
SUPERVISOR_SOCKET = "OFFLOAD_SUPERVISOR_FD"

READY = b"ready\n"
NOT_READY = b"not ready\n"

# How often a worker looks at its checks, to tell the supervisor when readiness changes.
READY_POLL = 0.2


@dataclass(frozen=True)
class SupervisedWorker:
    number: int
    """1 to WORKERS; it names the worker in its log lines and in the supervisor's /readyz."""
    fd: int
    """This process's end of the socket it shares with its supervisor."""

    @classmethod
    def from_environment(cls) -> SupervisedWorker | None:
        """This process as a supervisor started it, or None when it runs on its own."""
        number = os.environ.get(WORKER_NUMBER)
        if number is None:
            return None
        return cls(int(number), int(os.environ[SUPERVISOR_SOCKET]))

    @contextlib.asynccontextmanager
    async def linked(self, stop: asyncio.Event) -> AsyncIterator[Callable[[Checks], None]]:
        """Set `stop` when the supervisor goes; yields what takes the checks to report."""
        line = socket.socket(fileno=self.fd)
        # Nothing this worker starts may hold the supervisor's line open.
        line.set_inheritable(False)
        reader, writer = await asyncio.open_unix_connection(sock=line)
        tasks = [asyncio.create_task(self._stop_when_supervisor_goes(reader, stop))]

        def report(checks: Checks) -> None:
            tasks.append(asyncio.create_task(self._report(checks, writer)))

        try:
            yield report
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            writer.close()

    async def _stop_when_supervisor_goes(self, reader: asyncio.StreamReader, stop: asyncio.Event) -> None:
        await reader.read()  # returns at the end of the stream: the supervisor is gone
        if not stop.is_set():
            log.warning("supervisor gone, stopping", worker=self.number)
            stop.set()

    async def _report(self, checks: Checks, writer: asyncio.StreamWriter) -> None:
        told: bool | None = None
        try:
            while True:
                ready = all(checks().values())
                if ready != told:
                    writer.write(READY if ready else NOT_READY)
                    await writer.drain()
                    told = ready
                await asyncio.sleep(READY_POLL)
        except OSError:
            return  # the supervisor is gone; _stop_when_supervisor_goes stops the worker
