"""(d) Drain end to end, with status visible: jobs count as done when the gateway's store says so.

`--messages` EmailRequested events are published straight to the email queue,
as a direct publisher would (docs/direct-publishing.md), while the gateway
runs with its SQLite store; the gateway records a job it never accepted when
the job's first status event arrives. Then the service starts with two worker
processes (WORKERS=2, as `--workers 2` does) under one supervising parent,
sharing one SQLite inbox, each at the default prefetch. The clock
starts when the first handler starts (its own note of the time) and stops
when `GET /v1/jobs?status=succeeded` counts every job.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import aio_pika
import httpx

from bench.drain import prefill
from bench.system import broker_env, cleaned_up, free_port, gateway, namespace_settings, queue_depth
from contracts.events import TaskType
from devtools.processes import Process

WORKERS = 2
HOW = f"bench.noop_service with WORKERS={WORKERS} (worker processes under one supervising parent)"
# Seconds between two reads of the store's count of succeeded jobs.
LOOK_EVERY = 0.05
# Seconds the services get to start their first job, then to see every job succeeded.
START_TIMEOUT = 60.0
BUDGET = 180.0


def _first_start(starts: Path) -> float | None:
    """When the first handler started (`bench.noop_service` writes "<job_id> <time.time()>" lines)."""
    with starts.open() as lines:
        first = lines.readline()
    return float(first.split()[1]) if first.endswith("\n") else None


def _handlers(starts: Path) -> tuple[int, int, float]:
    """Handler starts, distinct jobs started, and the last start time."""
    ids, last = [], 0.0
    for line in starts.read_text().splitlines():
        job_id, at = line.split()
        ids.append(job_id)
        last = max(last, float(at))
    return len(ids), len(set(ids)), last


async def _succeeded(client: httpx.AsyncClient) -> int:
    response = await client.get("/v1/jobs", params={"status": "succeeded", "limit": 1})
    response.raise_for_status()
    return response.json()["total"]


async def _until_all_succeeded(
    client: httpx.AsyncClient, starts: Path, count: int, services: list[Process]
) -> dict[str, Any]:
    start_deadline = time.monotonic() + START_TIMEOUT
    first: float | None = None
    while True:
        succeeded, now = await _succeeded(client), time.time()
        first = first or _first_start(starts)
        if succeeded >= count or (first is not None and now - first > BUDGET):
            break
        if first is None and time.monotonic() > start_deadline:
            raise RuntimeError(f"no job started within {START_TIMEOUT:g} s")
        for service in services:
            if service.poll() is not None:
                raise RuntimeError(f"a service exited with {service.poll()}:\n{service.output()[-3000:]}")
        await asyncio.sleep(LOOK_EVERY)
    assert first is not None
    seconds = now - first
    return {"drained": succeeded >= count, "succeeded": succeeded, "seconds": seconds, "msg_per_s": succeeded / seconds}


async def measure(count: int, work_dir: Path) -> dict[str, Any]:
    settings = namespace_settings("d", work_dir)
    topology, retry = settings.topology, settings.retry_policy
    work = topology.service("email", retry)
    starts = work_dir / "d-starts.txt"
    starts.touch()
    async with cleaned_up(settings):
        with gateway(settings, work_dir) as base, contextlib.ExitStack() as stack:
            await prefill(settings, list(work.all()), count, topology.events.name, topology.routing_key(TaskType.email))
            connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
            try:
                queued = await queue_depth(connection, work.work.name)
            finally:
                await connection.close()
            if queued != count:
                raise RuntimeError(f"{queued:,} of {count:,} jobs in the email queue after the prefill")

            health = free_port()
            env = {
                **broker_env(settings),
                "WORKERS": str(WORKERS),
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(health),
                "BENCH_STARTS_FILE": str(starts),
            }
            service = Process("bench.noop_service", env, work_dir, f"http://127.0.0.1:{health}/readyz")
            stack.callback(service.stop)
            services = [service.start(ready_timeout=None)]
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                outcome = await _until_all_succeeded(client, starts, count, services)

    started, distinct, last_start = _handlers(starts)
    first = _first_start(starts)
    assert first is not None
    return {
        "parameters": {
            "messages": count,
            "workers": WORKERS,
            "how": HOW,
            "prefetch": settings.prefetch,
            "inbox": "on, one SQLite inbox shared by the workers",
            "store": "SQLite",
            "look_every_s": LOOK_EVERY,
            "budget_s": BUDGET,
        },
        **outcome,
        "handler_starts": started,
        "redelivered_starts": started - distinct,
        "handlers_done_after_s": last_start - first,
    }
