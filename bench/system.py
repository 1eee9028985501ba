"""The system under test: its processes, its broker namespace, and the machine it runs on.

Every measurement starts Offload's processes as a deployment would (separate
`python -m` children configured by the environment) in a namespace of its
own, and deletes that namespace's queues and exchanges when it is done.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import aio_pika
import httpx

from devtools.broker_users import trusting
from devtools.processes import Process, free_port
from runtime.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
RUN_ID = uuid.uuid4().hex[:6]

# The request body of (a) and (c), and the email of every pre-filled message in (b).
EMAIL_REQUEST: dict[str, Any] = {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"}

# Logging must not dominate what is measured, in the children as in this process.
LOG_LEVEL = "WARNING"


def namespace_settings(label: str, work_dir: Path) -> ServiceSettings:
    """Settings for a namespace of this run alone, read from the same environment the children see.

    A service's inbox goes to `work_dir` (a temp dir), not to the default ./var.
    """
    namespace = f"bench-{RUN_ID}-{label}"
    return ServiceSettings(
        amqp_url=AMQP_URL,
        offload_namespace=namespace,
        inbox_url=f"sqlite+aiosqlite:///{work_dir}/{namespace}-inbox.db",
        log_level=LOG_LEVEL,
    )


def broker_env(settings: ServiceSettings) -> dict[str, str]:
    return {
        "AMQP_URL": settings.amqp_url.get_secret_value(),
        "OFFLOAD_NAMESPACE": settings.offload_namespace,
        "INBOX_URL": settings.inbox_url or "",
        "LOG_LEVEL": LOG_LEVEL,
        "LOG_FORMAT": "json",
    }


@contextlib.contextmanager
def running(
    module: str,
    env: Mapping[str, str],
    log_dir: Path,
    ready_url: str,
    ready: Callable[[httpx.Response], bool] = lambda response: response.status_code == 200,
) -> Iterator[Process]:
    """A child process for the length of a measurement (starting and stopping block)."""
    process = Process(module, env, log_dir, ready_url, ready)
    try:
        yield process.start()
    finally:
        process.stop()


@contextlib.contextmanager
def gateway(settings: ServiceSettings, log_dir: Path, **extra_env: str) -> Iterator[str]:
    """The real gateway (one uvicorn worker, SQLite in `log_dir`); yields its base URL once ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **broker_env(settings),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite+aiosqlite:///{log_dir}/jobs-{port}.db",
        # Every process of a measurement logs in as the same user.
        "STATUS_PUBLISHERS": trusting(settings.amqp_url.get_secret_value()),
        **extra_env,
    }
    # "ready", not just up: the broker must be attached before the first POST
    # (a gateway without one answers 200 "degraded" and fills its outbox).
    with running("gateway", env, log_dir, base + "/readyz", lambda r: r.json()["status"] == "ready"):
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
