"""(c) Latency from POST to handler start, at a fixed moderate rate.

The gateway and a no-op service (`bench.noop_service`) run as separate
processes, as deployed. This process sends POSTs at a steady pace, notes
`time.time()` just before each one, and matches them by job id with the
handler's own start times. At a rate well below capacity this is the
pipeline's own latency (the gateway's store and publish, broker delivery,
validation, the `job.started` confirm), not a queueing delay.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.system import EMAIL_REQUEST, broker_env, cleaned_up, free_port, gateway, namespace_settings, running

RATE_PER_S = 100
# How long a job may take to start after the last POST before it counts as never started.
START_TIMEOUT = 10.0


def percentiles(values: list[float]) -> dict[str, float | None]:
    """Nearest-rank p50/p95/p99 and the maximum."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None, "max": None}

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": ordered[-1]}


class PacedClient:
    """POSTs at a fixed rate, whatever the answers' latency (an open loop, like real clients)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self.sent_at: dict[str, float] = {}
        self.answer_ms: list[float] = []
        self.errors: Counter[str] = Counter()

    async def run(self, rate: int, seconds: int) -> None:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        posts = []
        for i in range(rate * seconds):
            delay = begin + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            posts.append(asyncio.create_task(self._post()))
        await asyncio.gather(*posts)

    async def _post(self) -> None:
        sent = time.time()
        try:
            response = await self._client.post("/v1/emails", json=EMAIL_REQUEST)
        except httpx.HTTPError as error:
            self.errors[type(error).__name__] += 1
            return
        if response.status_code != 202:
            self.errors[f"HTTP {response.status_code}"] += 1
            return
        self.answer_ms.append((time.time() - sent) * 1000)
        self.sent_at[response.json()["job_id"]] = sent


def _read_starts(path: Path) -> dict[str, float]:
    starts: dict[str, float] = {}
    for line in path.read_text().splitlines():
        job_id, _, at = line.partition(" ")
        # A redelivered job starts twice; its first start is the one that counts.
        starts.setdefault(job_id, float(at))
    return starts


async def _wait_for_starts(path: Path, job_ids: set[str]) -> dict[str, float]:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        starts = _read_starts(path)
        if job_ids <= starts.keys() or time.monotonic() > deadline:
            return starts
        await asyncio.sleep(0.05)


async def _succeeded_in_store(client: httpx.AsyncClient, expected: int) -> int:
    """Jobs the gateway shows as succeeded, once its status consumer caught up (or gave up waiting)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        total = (await client.get("/v1/jobs", params={"status": "succeeded", "limit": 1})).json()["total"]
        if total >= expected or time.monotonic() > deadline:
            return total
        await asyncio.sleep(0.1)


async def measure(seconds: int, work_dir: Path, rate: int = RATE_PER_S) -> dict[str, Any]:
    settings = namespace_settings("c", work_dir)
    starts_file = work_dir / "starts.txt"
    starts_file.touch()
    health = free_port()
    service_env = {
        **broker_env(settings),
        "HEALTH_HOST": "127.0.0.1",
        "HEALTH_PORT": str(health),
        "BENCH_STARTS_FILE": str(starts_file),
    }
    async with cleaned_up(settings):
        with (
            gateway(settings, work_dir) as base,
            running("bench.noop_service", service_env, work_dir, f"http://127.0.0.1:{health}/readyz"),
        ):
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                paced = PacedClient(client)
                await paced.run(rate, seconds)
                starts = await _wait_for_starts(starts_file, set(paced.sent_at))
                succeeded = await _succeeded_in_store(client, len(paced.sent_at))

    latencies = [(starts[job] - sent) * 1000 for job, sent in paced.sent_at.items() if job in starts]
    return {
        "parameters": {
            "rate_per_s": rate,
            "duration_s": seconds,
            "start_timeout_s": START_TIMEOUT,
            "prefetch": settings.prefetch,
        },
        "posted": rate * seconds,
        "accepted": len(paced.sent_at),
        "post_errors": dict(paced.errors),
        "never_started": len(paced.sent_at) - len(latencies),
        "post_to_start_ms": percentiles(latencies),
        "post_answer_ms": percentiles(paced.answer_ms),
        "succeeded_in_store": succeeded,
    }
