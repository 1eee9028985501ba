"""A supervisor: one service run as several worker processes under one parent (WORKERS, --workers).

The parent holds what a service has once: its health port, bound before
anything else so that a port in use still stops the service at once, and the
/healthz, /readyz and /metrics it serves for all the workers. Each worker runs
the service exactly as a single process does (`runtime.service.serve`). A
worker that dies is started again; one that keeps dying before it is ready
makes the supervisor stop the others and give up, since a bad setting does not
heal by retrying. SIGTERM and SIGINT are passed on to every worker, which
finishes or requeues its jobs within SHUTDOWN_GRACE.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence

import structlog
from prometheus_client.multiprocess import mark_process_dead

from runtime.metrics import workers_metrics_endpoint
from runtime.ports import listen
from runtime.probe import ProbeServer, probe_app
from runtime.settings import ServiceSettings
from runtime.worker import READY, SUPERVISOR_SOCKET, WORKER_NUMBER

log = structlog.get_logger("offload.supervisor")

# A worker that dies before it is ready this many times in a row will not start: give up.
START_ATTEMPTS = 5
# Seconds before a worker that died before it was ready is started again; doubles each time.
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 8.0
# Beyond SHUTDOWN_GRACE, for a stopping worker to requeue its jobs and close its
# connections; one still running then is killed (the broker requeues its jobs).
STOP_MARGIN = 10.0
# After a worker exits, how long the last lines it wrote may take to be read.
LAST_WORDS = 1.0


class WorkersFailing(Exception):
    """A worker kept dying before it was ready; the supervisor stopped the others and gave up."""


def supervise(service: str, settings: ServiceSettings) -> None:
    """Run `settings.workers` workers of `service` until SIGTERM or SIGINT.

    Raises `PortUnavailable` (HEALTH_PORT) before any worker starts, and `WorkersFailing`.
    """
    # The standard loop, not uvloop: the supervisor does little, and what it
    # does (child processes that inherit a socket) is the standard loop's home ground.
    asyncio.run(Supervisor(service, settings).run())


def this_command() -> list[str]:
    """The command that started this process: each worker runs it again."""
    # Workers are new processes running this very command, not multiprocessing
    # children. fork would copy a running event loop (uvloop's too), its threads
    # and its connections into the child; spawn and forkserver import the target
    # anew in the child, and a service's main() lives in its package's
    # __main__, which multiprocessing does not run there. A fresh interpreter on
    # the same command starts exactly as a one-process service does.
    return [sys.executable, *sys.orig_argv[1:]]


class WorkerSlot:
    """The place of worker `number`: its current process, and whether that process said it is ready."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.process: asyncio.subprocess.Process | None = None
        self.ready = False
        self.was_ready = False
        """The current process was ready at some point: its death is not a failure to start."""
        self._line: asyncio.StreamWriter | None = None
        self._listening: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, command: Sequence[str], env: dict[str, str]) -> int:
        """Start a process in this place; its pid."""
        ours, theirs = socket.socketpair()
        marks = {WORKER_NUMBER: str(self.number), SUPERVISOR_SOCKET: str(theirs.fileno())}
        try:
            self.process = await asyncio.create_subprocess_exec(
                *command, env={**env, **marks}, pass_fds=[theirs.fileno()]
            )
        except BaseException:
            ours.close()
            raise
        finally:
            # The worker holds its end now; with ours the only other, the line
            # ends when either process does.
            theirs.close()
        self.ready = self.was_ready = False
        reader, self._line = await asyncio.open_unix_connection(sock=ours)
        self._listening = asyncio.create_task(self._listen(reader))
        return self.process.pid

    async def exited(self) -> int:
        """Wait for the process to end: its exit code, or minus the signal that ended it."""
        assert self.process is not None and self._line is not None and self._listening is not None
        code = await self.process.wait()
        with contextlib.suppress(TimeoutError, OSError):
            await asyncio.wait_for(self._listening, LAST_WORDS)
        self._line.close()
        self.ready = False
        return code

    def send(self, sig: signal.Signals) -> None:
        if self.process is not None and self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        async for line in reader:
            self.ready = line == READY
            self.was_ready = self.was_ready or self.ready
        self.ready = False  # the line ended: the worker is gone, or going


class Supervisor:
    def __init__(self, service: str, settings: ServiceSettings, command: Sequence[str] | None = None) -> None:
        self._service = service
        self._settings = settings
        self._command = list(command or this_command())
        self._slots = [WorkerSlot(number) for number in range(1, settings.workers + 1)]
        self._stop = asyncio.Event()
        # Passed on to the workers: SIGINT stays SIGINT.
        self._signal = signal.SIGTERM

    async def run(self) -> None:
        settings = self._settings
        async with contextlib.AsyncExitStack() as resources:
            listener = None
            if settings.health_port is not None:
                listener = listen(settings.health_host, settings.health_port, "HEALTH_PORT")
                resources.callback(listener.close)
            self._stop_on_signals()
            # Each run counts afresh (prometheus_client wants the directory empty at start).
            metrics = tempfile.mkdtemp(prefix=f"offload-{self._service}-metrics-")
            resources.callback(shutil.rmtree, metrics, ignore_errors=True)
            if listener is not None:
                app = probe_app(self._service, self._checks, workers_metrics_endpoint(metrics))
                probe = ProbeServer(app, settings.health_host, settings.health_port)
                await resources.enter_async_context(probe.serving(listener))
            env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics}
            log.info("starting workers", service=self._service, workers=len(self._slots), pid=os.getpid())
            keepers = [asyncio.create_task(self._keep(slot, env, metrics)) for slot in self._slots]
            stopping = asyncio.create_task(self._stop.wait())
            await asyncio.wait([stopping, *keepers], return_when=asyncio.FIRST_COMPLETED)
            self._stop.set()
            await self._stop_workers(keepers)
            failures = [task.exception() for task in keepers if not task.cancelled() and task.exception()]
            if failures:
                raise failures[0]  # type: ignore[misc] - an exception, as filtered above
            log.info("workers stopped", service=self._service)

    def _checks(self) -> dict[str, bool]:
        return {f"worker-{slot.number}": slot.ready for slot in self._slots}

    async def _keep(self, slot: WorkerSlot, env: dict[str, str], metrics: str) -> None:
        """Keep a process in `slot` until the supervisor stops; `WorkersFailing` if it will not start."""
        failures = 0
        while not self._stop.is_set():
            pid = await slot.start(self._command, env)
            log.info("worker started", service=self._service, worker=slot.number, pid=pid)
            if self._stop.is_set():
                slot.send(self._signal)  # the stop came while it was being started
            code = await slot.exited()
            # Its gauges go; its counters stay in the sums.
            mark_process_dead(pid, metrics)
            fields = {"service": self._service, "worker": slot.number, "pid": pid, "exit": _exit_text(code)}
            if self._stop.is_set():
                log.info("worker stopped", **fields)
                return
            if slot.was_ready:
                failures = 0
                log.warning("worker died, starting it again", **fields)
                continue
            failures += 1
            if failures >= START_ATTEMPTS:
                raise WorkersFailing(
                    f"worker {slot.number} of the {self._service} service died before it was ready "
                    f"{failures} times in a row (last: {_exit_text(code)}); gave up"
                )
            delay = min(FIRST_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)
            log.warning("worker died before it was ready, starting it again", **fields, retry_in_s=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _stop_workers(self, keepers: list[asyncio.Task[None]]) -> None:
        for slot in self._slots:
            slot.send(self._signal)
        _, unstopped = await asyncio.wait(keepers, timeout=self._settings.shutdown_grace + STOP_MARGIN)
        if unstopped:
            for slot in self._slots:
                if slot.running:
                    log.warning("worker did not stop in time, killing it", service=self._service, worker=slot.number)
                    slot.send(signal.SIGKILL)
            await asyncio.wait(unstopped)

    def _stop_on_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        self._signal = sig
        if self._stop.is_set():
            # Once more, for workers started since, or an operator who insists.
            for slot in self._slots:
                slot.send(sig)
        self._stop.set()


def _exit_text(code: int) -> str:
    """How a process ended, as asyncio reports it (minus the signal that ended it)."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"signal {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"
