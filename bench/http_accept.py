"""(a) Accepted jobs per second at POST /v1/emails: the gateway next to bare FastAPI.

The gateway does all that accepting a job takes before it answers 202 (the
job's row in SQLite, its event on its way to the broker); the baseline only
validates the body and schedules a no-op background task. Both are loaded by `wrk` over loopback
with the same script, connections and duration, after the same warm-up.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aio_pika

from bench.system import EMAIL_REQUEST, cleaned_up, free_port, gateway, namespace_settings, queue_depth, running
from runtime.settings import ServiceSettings

INSTALL_WRK = "sudo apt-get update && sudo apt-get install -y wrk"
WARM_UP_SECONDS = 2
THREADS = 1
CONNECTIONS = 64
# How long the gateway gets, after the load, to publish every job it accepted.
CATCH_UP_TIMEOUT = 15.0

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkRun:
    requests_per_s: float
    requests: int
    non_2xx: int
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _post_script(directory: Path) -> Path:
    # Written from EMAIL_REQUEST so (a) and (c) send the very same body.
    script = directory / "post.lua"
    body = json.dumps(EMAIL_REQUEST)
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    return script


async def _wrk(url: str, script: Path, seconds: int) -> WrkRun:
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=seconds + 30)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> WrkRun:
    """The numbers of wrk's report; the error lines only appear when there were errors."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if rate is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    latency = {
        f"p{percent}": float(value) * _UNIT_MS[unit]
        for percent, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    }
    return WrkRun(
        requests_per_s=float(rate.group(1)),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True))
        if sockets
        else {},
        latency_ms=latency,
    )


async def _load(base: str, script: Path, seconds: int) -> tuple[WrkRun, WrkRun]:
    """A warm-up run (connections opened, first-request costs paid), then the measured run."""
    warm_up = await _wrk(base + "/v1/emails", script, WARM_UP_SECONDS)
    return warm_up, await _wrk(base + "/v1/emails", script, seconds)


def _answered_2xx(*runs: WrkRun) -> int:
    return sum(run.requests - run.non_2xx for run in runs)


async def _jobs_queued(settings: ServiceSettings, answered: int) -> dict[str, float]:
    """Jobs in the email queue when the load stopped, and once the gateway caught up.

    A gateway may answer 202 before it publishes (an outbox relays the event
    later), so the queue can lag the answers; nothing consumes it here, so it
    must reach `answered` in the end.
    """
    connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
    try:
        name = settings.topology.service("email").work.name
        stopped = time.monotonic()
        at_end = depth = await queue_depth(connection, name)
        while depth < answered and time.monotonic() - stopped < CATCH_UP_TIMEOUT:
            await asyncio.sleep(0.1)
            depth = await queue_depth(connection, name)
        return {"when_load_stopped": at_end, "at_last": depth, "catch_up_s": round(time.monotonic() - stopped, 2)}
    finally:
        await connection.close()


async def measure(seconds: int, work_dir: Path) -> dict[str, Any]:
    script = _post_script(work_dir)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running("bench.baseline_app", {"HOST": "127.0.0.1", "PORT": str(port)}, work_dir, base + "/healthz"):
        _, baseline = await _load(base, script, seconds)

    settings = namespace_settings("a", work_dir)
    async with cleaned_up(settings):
        with gateway(settings, work_dir) as base:
            offload_warm_up, offload = await _load(base, script, seconds)
            answered = _answered_2xx(offload_warm_up, offload)
            queued = await _jobs_queued(settings, answered)

    return {
        "parameters": {
            "tool": "wrk",
            "threads": THREADS,
            "connections": CONNECTIONS,
            "duration_s": seconds,
            "warm_up_s": WARM_UP_SECONDS,
            "body": EMAIL_REQUEST,
        },
        "offload": asdict(offload) | {"errors": offload.errors},
        "baseline": asdict(baseline) | {"errors": baseline.errors},
        # Cross-check: 2xx answers (warm-up included) against jobs waiting in the queue.
        "offload_2xx_answered": answered,
        "offload_jobs_queued": queued,
        "ratio": offload.requests_per_s / baseline.requests_per_s,
    }
