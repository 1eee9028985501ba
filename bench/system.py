"""The system under test: its processes, its broker namespace, and the machine it runs on.

Every measurement starts Offload's processes as a deployment would (separate
`python -m` children configured by the environment) in a namespace of its
own, and deletes that namespace's queues and exchanges when it is done.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import aio_pika
import httpx

from runtime.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
RUN_ID = uuid.uuid4().hex[:6]

# The request body of (a) and (c), and the email of every pre-filled message in (b).
EMAIL_REQUEST: dict[str, Any] = {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"}

# Logging must not dominate what is measured, in the children as in this process.
LOG_LEVEL = "WARNING"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def namespace_settings(label: str) -> ServiceSettings:
    """Settings for a namespace of this run alone, read from the same environment the children see."""
    return ServiceSettings(amqp_url=AMQP_URL, offload_namespace=f"bench-{RUN_ID}-{label}", log_level=LOG_LEVEL)


def broker_env(settings: ServiceSettings) -> dict[str, str]:
    return {
        "AMQP_URL": settings.amqp_url.get_secret_value(),
        "OFFLOAD_NAMESPACE": settings.offload_namespace,
        "LOG_LEVEL": LOG_LEVEL,
        "LOG_FORMAT": "json",
    }


class Process:
    """One `python -m <module>` child; its output goes to a log file, shown if it fails."""

    def __init__(self, module: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.module = module
        self.log_path = log_dir / f"{module}-{time.monotonic_ns()}.log"
        self._env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self, ready_url: str, timeout: float = 30.0) -> Process:
        with self.log_path.open("wb") as log:
            self._popen = subprocess.Popen(
                [sys.executable, "-m", self.module], cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_ready(ready_url, timeout)
        return self

    def _wait_until_ready(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._popen is not None
            if self._popen.poll() is not None:
                raise RuntimeError(f"{self.module} exited with {self._popen.returncode}:\n{self.output()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.module} not ready at {url} after {timeout}s:\n{self.output()}")

    @property
    def pid(self) -> int:
        assert self._popen is not None
        return self._popen.pid

    def stop(self, timeout: float = 30.0) -> None:
        if self._popen is None or self._popen.poll() is not None:
            return
        self._popen.send_signal(signal.SIGTERM)
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@contextlib.contextmanager
def running(module: str, env: Mapping[str, str], log_dir: Path, ready_url: str) -> Iterator[Process]:
    process = Process(module, env, log_dir)
    try:
        yield process.start(ready_url)
    finally:
        process.stop()


@contextlib.contextmanager
def gateway(settings: ServiceSettings, log_dir: Path) -> Iterator[str]:
    """The real gateway (one uvicorn worker, SQLite in `log_dir`); yields its base URL once ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **broker_env(settings),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite+aiosqlite:///{log_dir}/jobs-{port}.db",
    }
    # /readyz, not /healthz: the broker must be attached before the first POST.
    with running("gateway", env, log_dir, base + "/readyz"):
        yield base


async def queue_depth(connection: aio_pika.abc.AbstractConnection, name: str) -> int:
    """Ready messages in a queue (a passive declare, so it never creates one)."""
    async with connection.channel() as channel:
        queue = await channel.declare_queue(name, passive=True)
        return queue.declaration_result.message_count or 0


@contextlib.asynccontextmanager
async def cleaned_up(settings: ServiceSettings, extra_queues: Iterable[str] = ()) -> AsyncIterator[None]:
    """Delete every queue and exchange of the namespace on the way out, whatever happened."""
    try:
        yield
    finally:
        topology = settings.topology
        names = [queue.name for queue in topology.every_queue(settings.retry_policy)] + list(extra_queues)
        connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
        try:
            async with connection.channel() as channel:
                for name in names:
                    await channel.queue_delete(name)
                for exchange in topology.exchanges():
                    await channel.exchange_delete(exchange.name)
        finally:
            await connection.close()


def machine_facts() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "rabbitmq": _rabbitmq_version(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        "libraries": {
            name: _version(name)
            for name in ("fastapi", "uvicorn", "uvloop", "httptools", "pydantic", "aio-pika", "sqlalchemy", "aiosqlite")
        },
    }


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def _rabbitmq_version() -> str | None:
    try:
        done = subprocess.run(["rabbitmqctl", "version"], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None
