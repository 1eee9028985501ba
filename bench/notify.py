"""Push fan-out throughput: notifications per second delivered to a local webhook receiver.

Runs the system as deployed (the gateway and `notify_service` as separate
processes, a webhook receiver as a third: uvicorn with a minimal ASGI app)
and measures, each from the first POST to the last delivery confirmed:

- one job with N targets (the fan-out inside one job, bounded by NOTIFY_CONCURRENCY);
- N jobs with one target each (each one a POST, a job record, a message, a
  delivery and its status events: bounded by PREFETCH);

next to N sequential POSTs to the same receiver from one aiohttp session in
this process (the HTTP client the service uses), signed the same way: what
one caller gets without a queue.

The POSTs of the many-jobs run go out through aiohttp too: an httpx client
with 64 requests in flight held the gateway to ~120-210 POSTs per second on a
2-core machine, where aiohttp got ~980, so it measured the load generator.

    python -m bench.notify [--targets 10000] [--concurrency 50] [--prefetch 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import httpx
import uvloop

from bench.system import broker_env, cleaned_up, gateway, namespace_settings, running
from devtools.processes import free_port
from notify_service.signing import signed_headers
from runtime.settings import ServiceSettings

SECRET = "bench-secret"
# POSTs in flight at once for the many-jobs run; the gateway serves them one worker.
POSTS_IN_FLIGHT = 64
MAX_BODY_BYTES = 1_048_576


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The fastest honest webhook receiver: reads the body, answers 200."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=10_000, help="targets of the one job, and jobs of the other run")
    parser.add_argument("--concurrency", type=int, default=50, help="NOTIFY_CONCURRENCY of the service (default 50)")
    parser.add_argument("--prefetch", type=int, default=16, help="PREFETCH of the service (default 16)")
    return parser.parse_args()


async def one_job(base: str, receiver: str, n: int) -> float:
    body = {
        "provider": "webhook",
        "targets": [{"url": f"{receiver}/t/{i}"} for i in range(n)],
        "title": "Hi",
        "body": "",
    }
    size = len(json.dumps(body))
    assert size < MAX_BODY_BYTES, f"a {n}-target body is {size} bytes, over the gateway's limit"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        started = time.perf_counter()
        response = await client.post("/v1/notifications", json=body)
        response.raise_for_status()
        job_id = response.json()["job_id"]
        while True:
            job = (await client.get(f"/v1/jobs/{job_id}")).json()
            if job["status"] in ("succeeded", "dead_lettered"):
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    assert job["status"] == "succeeded" and job["result"]["delivered"] == n, job.get("error") or job["result"]
    return elapsed


async def many_jobs(base: str, receiver: str, n: int, settings: ServiceSettings) -> float:
    connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
    try:
        channel = await connection.channel()
        # A copy of every job.succeeded, to know when the last job is done without polling n jobs.
        succeeded = await channel.declare_queue(exclusive=True, auto_delete=True)
        await succeeded.bind(settings.topology.events.name, "job.succeeded")
        done = asyncio.Event()
        count = 0

        async def on_succeeded(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal count
            count += 1
            if count >= n:
                done.set()

        await succeeded.consume(on_succeeded, no_ack=True)
        slots = asyncio.Semaphore(POSTS_IN_FLIGHT)
        connector = aiohttp.TCPConnector(limit=POSTS_IN_FLIGHT)
        async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(30)) as client:

            async def post(i: int) -> None:
                async with slots:
                    body = {"provider": "webhook", "targets": [{"url": f"{receiver}/j/{i}"}], "title": "Hi", "body": ""}
                    async with client.post("/v1/notifications", json=body) as response:
                        response.raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(post(i) for i in range(n)))
            await asyncio.wait_for(done.wait(), timeout=300)
            return time.perf_counter() - started
    finally:
        await connection.close()


async def sequential(receiver: str, n: int) -> float:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(30)) as client:
        started = time.perf_counter()
        for i in range(n):
            body = json.dumps({"id": f"{uuid.uuid4()}:0", "title": "Hi", "body": "", "data": {}}).encode()
            headers = {"Content-Type": "application/json", **signed_headers(SECRET.encode(), body)}
            async with client.post(f"{receiver}/s/{i}", data=body, headers=headers) as response:
                response.raise_for_status()
                await response.read()
        return time.perf_counter() - started


async def measure(args: argparse.Namespace, work_dir: Path) -> list[tuple[str, int, float]]:
    settings = namespace_settings("notify", work_dir)
    receiver_port = free_port()
    receiver = f"http://127.0.0.1:{receiver_port}"
    receiver_env = {
        "UVICORN_APP": "bench.notify:receiver_app",
        "UVICORN_PORT": str(receiver_port),
        "UVICORN_NO_ACCESS_LOG": "true",
        "UVICORN_LOG_LEVEL": "warning",
    }
    health = free_port()
    notify_env = {
        **broker_env(settings),
        "HEALTH_PORT": str(health),
        "HEALTH_HOST": "127.0.0.1",
        "PREFETCH": str(args.prefetch),
        "NOTIFY_CONCURRENCY": str(args.concurrency),
        "NOTIFY_WEBHOOK_SECRET": SECRET,
        "NOTIFY_ALLOWED_HOSTS": f"127.0.0.1:{receiver_port}",
        "NOTIFY_DELIVERIES_URL": f"sqlite+aiosqlite:///{work_dir}/notify-deliveries.db",
    }
    rows = []
    async with cleaned_up(settings):
        with (
            running("uvicorn", receiver_env, work_dir, receiver + "/health"),
            gateway(settings, work_dir) as base,
            running("notify_service", notify_env, work_dir, f"http://127.0.0.1:{health}/readyz"),
        ):
            n = args.targets
            rows.append((f"1 job x {n} targets", n, await one_job(base, receiver, n)))
            rows.append((f"{n} jobs x 1 target", n, await many_jobs(base, receiver, n, settings)))
            rows.append((f"{n} sequential POSTs, one aiohttp session", n, await sequential(receiver, n)))
    return rows


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as work_dir:
        rows = uvloop.run(measure(args, Path(work_dir)))
    print(f"\nnotify_service: NOTIFY_CONCURRENCY={args.concurrency}, PREFETCH={args.prefetch}")
    print(f"{'run':<48} {'notifications':>13} {'seconds':>8} {'per second':>11}")
    for label, count, seconds in rows:
        print(f"{label:<48} {count:>13} {seconds:>8.2f} {count / seconds:>11.0f}")


if __name__ == "__main__":
    main()
