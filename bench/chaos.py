"""Chaos: accepted work survives killed consumers and a restarted broker ("Nothing lost").

`--rate` POSTs per second go to the gateway for `--chaos-minutes` while two
ledger services compete for the email queue. One of them (alternating) is
SIGKILLed every `--kill-every` seconds and started again at once, as a
supervisor would; the broker, a throwaway node of its own, is stopped for 10 s
(`stop_app`/`start_app`) and later crashed (SIGKILL, then booted again). Each
job's effect is one line in a ledger file, so when the load is over and the
ledger has caught up, every accepted job must be there exactly once, or be
dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx

from bench.latency import percentiles
from bench.system import EMAIL_REQUEST, RUN_ID, free_port, gateway, queue_depth
from devtools.ledger_service import ledger_counts
from devtools.processes import Process
from devtools.rabbit_node import RabbitNode
from runtime.settings import ServiceSettings

MINUTES = 10.0
KILL_EVERY_S = 30.0
PREFETCH = 16
SLOW_SECONDS = 0.05
HEARTBEAT_S = 5
POST_TIMEOUT_S = 5.0
STOP_APP_SECONDS = 10.0
# When the two broker faults begin, as fractions of the load's duration.
STOP_APP_AT = 0.3
CRASH_AT = 0.65
# After the load: how long the ledger, then the job store, may take to catch up.
LEDGER_TIMEOUT_S = 180.0
STORE_TIMEOUT_S = 60.0
SAMPLE_EVERY_S = 2.0
PAGE = 500
# The consumers under test: a real service whose effect is a line in a ledger.
LEDGER_SERVICE = "devtools.ledger_service"

_DUPLICATES = re.compile(r"^offload_duplicates_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.MULTILINE)
# Log events of the services that tell what happened to redeliveries, counted in every log, killed or not.
LOGGED = (
    "redelivered after an unfinished try",
    "duplicate skipped: finished before",
    "requeued: outcome not recorded",
    "job dead-lettered",
)


class Timeline:
    """What the chaos did and when, in seconds since the load began."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.entries: list[str] = []

    def at(self) -> float:
        return time.monotonic() - self.began

    def note(self, what: str) -> None:
        line = f"t={self.at():6.1f}s {what}"
        self.entries.append(line)
        print(f"chaos: {line}", file=sys.stderr, flush=True)


@dataclass
class Load:
    """What the client saw."""

    accepted: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)
    answer_ms: list[float] = field(default_factory=list)
    posted: int = 0


async def drive(client: httpx.AsyncClient, rate: float, seconds: float, load: Load) -> None:
    """POST at `rate` per second, an open loop: a slow answer never delays the next request."""

    async def post() -> None:
        sent = time.monotonic()
        try:
            response = await client.post("/v1/emails", json=EMAIL_REQUEST)
        except httpx.HTTPError as error:
            load.failures[type(error).__name__] += 1
            return
        if response.status_code == 202:
            load.accepted.add(response.json()["job_id"])
            load.answer_ms.append((time.monotonic() - sent) * 1000)
        else:
            load.failures[f"HTTP {response.status_code}"] += 1

    loop = asyncio.get_running_loop()
    in_flight: set[asyncio.Task[None]] = set()
    begin = loop.time()
    for n in range(int(rate * seconds)):
        delay = begin + n / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(post())
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        load.posted += 1
    if in_flight:
        await asyncio.wait(in_flight)


@dataclass
class Consumer:
    """One ledger-service process, and the duplicate counters last read from its /metrics."""

    process: Process
    metrics_url: str
    duplicates: dict[str, float] = field(default_factory=dict)
    read_at_least_once: bool = False


class Consumers:
    """The competing ledger services, and every one that ever ran."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self._env = env
        self._log_dir = log_dir
        self.slots: list[Consumer] = []
        self.every: list[Consumer] = []
        self.kills = 0

    def start(self) -> Consumer:
        port = free_port()
        env = {**self._env, "HEALTH_PORT": str(port)}
        process = Process(LEDGER_SERVICE, env, self._log_dir, f"http://127.0.0.1:{port}/readyz")
        consumer = Consumer(process.start(ready_timeout=None), f"http://127.0.0.1:{port}/metrics")
        self.every.append(consumer)
        return consumer

    async def start_all(self, count: int) -> None:
        for _ in range(count):
            consumer = await asyncio.to_thread(self.start)
            await asyncio.to_thread(consumer.process.wait_until_ready, 30.0)
            self.slots.append(consumer)

    async def kill_and_restart(self, slot: int, http: httpx.AsyncClient, timeline: Timeline) -> None:
        victim = self.slots[slot]
        # SIGKILL leaves no last word: read the counters just before, and miss what happens in between.
        await self.read_duplicates(victim, http)
        victim.process.signal(signal.SIGKILL)
        await asyncio.to_thread(victim.process.wait, 10.0)
        self.kills += 1
        self.slots[slot] = await asyncio.to_thread(self.start)
        timeline.note(
            f"SIGKILLed consumer {slot} (pid {victim.process.pid}, {victim.process.log_path.name}); "
            f"started pid {self.slots[slot].process.pid}"
        )

    async def read_duplicates(self, consumer: Consumer, http: httpx.AsyncClient) -> None:
        with contextlib.suppress(httpx.HTTPError):
            text = (await http.get(consumer.metrics_url, timeout=1)).text
            for match in _DUPLICATES.finditer(text):
                kind = re.search(r'kind="([^"]+)"', match["labels"])
                if kind:
                    consumer.duplicates[kind[1]] = float(match["value"])
            consumer.read_at_least_once = True

    async def stop_all(self, http: httpx.AsyncClient) -> None:
        for consumer in self.slots:
            await self.read_duplicates(consumer, http)
            await asyncio.to_thread(consumer.process.stop)


async def kill_consumers(
    consumers: Consumers, every: float, until: float, http: httpx.AsyncClient, timeline: Timeline
) -> None:
    n = 1
    while n * every < until:
        await asyncio.sleep(max(0.0, n * every - timeline.at()))
        await consumers.kill_and_restart((n - 1) % len(consumers.slots), http, timeline)
        n += 1


@dataclass
class BrokerFaults:
    stop_app: float | None = None
    crash: float | None = None

    @property
    def done(self) -> int:
        return (self.stop_app is not None) + (self.crash is not None)


async def fault_broker(node: RabbitNode, seconds: float, timeline: Timeline, faults: BrokerFaults) -> None:
    """Two outages: the app stopped for 10 s, then the node SIGKILLed and booted again."""
    await asyncio.sleep(max(0.0, STOP_APP_AT * seconds - timeline.at()))
    began = timeline.at()
    timeline.note("broker: stop_app")
    await asyncio.to_thread(node.stop_app)
    await asyncio.sleep(STOP_APP_SECONDS)
    await asyncio.to_thread(node.start_app)
    faults.stop_app = timeline.at() - began
    timeline.note(f"broker: start_app done, {faults.stop_app:.1f} s after stop_app was called")

    await asyncio.sleep(max(0.0, CRASH_AT * seconds - timeline.at()))
    began = timeline.at()
    timeline.note("broker: kill (SIGKILL of the node)")
    await asyncio.to_thread(node.kill)
    await asyncio.to_thread(node.restart)
    faults.crash = timeline.at() - began
    timeline.note(f"broker: restarted, {faults.crash:.1f} s after the kill began")


@dataclass
class Peaks:
    depth: int = 0
    depth_at: float = 0.0
    depth_samples: int = 0
    depth_misses: int = 0
    outbox: int = 0
    outbox_at: float = 0.0


async def sample(
    amqp_url: str,
    queue: str,
    http: httpx.AsyncClient,
    consumers: Consumers,
    timeline: Timeline,
    peaks: Peaks,
    stop: asyncio.Event,
) -> None:
    """Every couple of seconds: the work queue's ready messages, the gateway's outbox, the duplicate counters."""
    connection: aio_pika.abc.AbstractConnection | None = None
    while not stop.is_set():
        try:
            async with asyncio.timeout(3):
                if connection is None or connection.is_closed:
                    connection = await aio_pika.connect(amqp_url)
                depth = await queue_depth(connection, queue)
            peaks.depth_samples += 1
            if depth > peaks.depth:
                peaks.depth, peaks.depth_at = depth, timeline.at()
        except Exception:  # the broker is away or recovering: no sample this round
            peaks.depth_misses += 1
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
            connection = None
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, TypeError):
            pending = (await http.get("/readyz", timeout=1)).json()["outbox"]["pending"]
            if pending > peaks.outbox:
                peaks.outbox, peaks.outbox_at = pending, timeline.at()
        for consumer in list(consumers.slots):
            await consumers.read_duplicates(consumer, http)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_S)
    if connection is not None:
        with contextlib.suppress(Exception):
            await connection.close()


async def wait_until(done: Callable[[], Awaitable[bool]], timeout: float, every: float = 1.0) -> float | None:
    """Seconds until `done()` held, or None if it did not within `timeout`."""
    began = time.monotonic()
    while not await done():
        if time.monotonic() - began > timeout:
            return None
        await asyncio.sleep(every)
    return time.monotonic() - began


async def jobs_in_store(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every job the gateway knows, page by page (no job is created meanwhile)."""
    jobs: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = (await http.get("/v1/jobs", params={"limit": PAGE, "offset": offset}, timeout=30)).json()
        jobs.extend(page["jobs"])
        offset += PAGE
        if offset >= page["total"]:
            return jobs


async def finished_in_store(http: httpx.AsyncClient) -> int:
    total = 0
    for status in ("succeeded", "dead_lettered"):
        total += (await http.get("/v1/jobs", params={"status": status, "limit": 1})).json()["total"]
    return total


def logged_events(log_dir: Path) -> Counter[str]:
    """How often each of LOGGED appears in the services' logs (complete even for killed processes)."""
    seen: Counter[str] = Counter()
    for path in log_dir.glob(f"{LEDGER_SERVICE}-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line).get("event")
                if event in LOGGED:
                    seen[event] += 1
    return seen


def completion_ms(jobs: list[dict[str, Any]], accepted: set[str]) -> tuple[list[float], int]:
    """created_at -> finished_at of the accepted jobs, and how many have no finished_at."""
    spans, unfinished = [], 0
    for job in jobs:
        if job["job_id"] not in accepted:
            continue
        if job["finished_at"] is None:
            unfinished += 1
            continue
        finished = datetime.fromisoformat(job["finished_at"])
        created = datetime.fromisoformat(job["created_at"])
        spans.append((finished - created).total_seconds() * 1000)
    return spans, unfinished


async def measure(minutes: float = MINUTES, rate: int = 100, kill_every: float = KILL_EVERY_S) -> dict[str, Any]:
    seconds = minutes * 60
    # The sampler's own connection drops with every outage, and aiormq would log each drop at length.
    for library in ("aiormq", "aio_pika"):
        logging.getLogger(library).setLevel(logging.CRITICAL)
    work_dir = Path(tempfile.mkdtemp(prefix="offload-chaos-"))
    print(f"chaos: logs, ledger and databases in {work_dir} (kept if anything went wrong)", file=sys.stderr)
    node = RabbitNode()
    await asyncio.to_thread(node.start)
    try:
        result = await _run(node, work_dir, seconds, rate, kill_every)
    finally:
        (work_dir / "rabbitmq-node.log").write_text(node.log())
        await asyncio.to_thread(node.stop)
    clean = result["lost"] == result["duplicated"] == result["unexpected"] == 0 and not result["post_failures"]
    if clean:
        shutil.rmtree(work_dir, ignore_errors=True)
    result["work_dir"] = f"{work_dir} ({'deleted: nothing went wrong' if clean else 'kept'})"
    return result


async def _run(node: RabbitNode, work_dir: Path, seconds: float, rate: int, kill_every: float) -> dict[str, Any]:
    namespace = f"bench-{RUN_ID}-chaos"
    settings = ServiceSettings(amqp_url=node.amqp_url, offload_namespace=namespace, log_level="WARNING")
    queues = settings.topology.service("email", settings.retry_policy)
    ledger = work_dir / "ledger"
    consumers = Consumers(
        {
            "AMQP_URL": node.amqp_url,
            "OFFLOAD_NAMESPACE": namespace,
            "LEDGER_PATH": str(ledger),
            "SLOW_SECONDS": str(SLOW_SECONDS),
            "PREFETCH": str(PREFETCH),
            "AMQP_HEARTBEAT": str(HEARTBEAT_S),
            # One inbox for both copies, as on one host.
            "INBOX_URL": f"sqlite+aiosqlite:///{work_dir}/ledger-inbox.db",
            "HEALTH_HOST": "127.0.0.1",
            # INFO: a line per job and per redelivery, the evidence when something goes wrong.
            "LOG_LEVEL": "INFO",
        },
        work_dir,
    )
    load, peaks, faults = Load(), Peaks(), BrokerFaults()
    with gateway(settings, work_dir) as base:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=base, timeout=POST_TIMEOUT_S, limits=limits) as http:
            # The gateway's /readyz answers 200 while "degraded" too: wait for its status consumer.
            await wait_until(lambda: _gateway_ready(http), timeout=30, every=0.2)
            await consumers.start_all(2)
            timeline = Timeline()
            stop_sampling = asyncio.Event()
            sampler = asyncio.create_task(
                sample(node.amqp_url, queues.work.name, http, consumers, timeline, peaks, stop_sampling)
            )
            try:
                await asyncio.gather(
                    drive(http, rate, seconds, load),
                    kill_consumers(consumers, kill_every, seconds, http, timeline),
                    fault_broker(node, seconds, timeline, faults),
                )
                timeline.note(f"load over: {len(load.accepted):,} of {load.posted:,} POSTs accepted")

                async def ledger_complete() -> bool:
                    return load.accepted <= ledger_counts(ledger).keys()

                caught_up = await wait_until(ledger_complete, LEDGER_TIMEOUT_S)
                timeline.note(
                    "ledger holds every accepted job" if caught_up is not None else "ledger still incomplete: gave up"
                )

                async def store_complete() -> bool:
                    return await finished_in_store(http) >= len(load.accepted)

                await wait_until(store_complete, STORE_TIMEOUT_S)
                jobs = await jobs_in_store(http)
                dead_queue = await _dead_queue_depth(node.amqp_url, queues.dead.name)
            finally:
                stop_sampling.set()
                await sampler
                await consumers.stop_all(http)

    done = ledger_counts(ledger)
    dead_lettered = {job["job_id"] for job in jobs if job["status"] == "dead_lettered"}
    lost = load.accepted - done.keys() - dead_lettered
    duplicated = {job: count for job, count in done.items() if count > 1}
    unexpected = done.keys() - load.accepted
    spans, unfinished = completion_ms(jobs, load.accepted)
    read = [c for c in consumers.every if c.read_at_least_once]
    return {
        "parameters": {
            "minutes": seconds / 60,
            "rate_per_s": rate,
            "kill_every_s": kill_every,
            "prefetch": PREFETCH,
            "slow_seconds": SLOW_SECONDS,
            "heartbeat_s": HEARTBEAT_S,
            "post_timeout_s": POST_TIMEOUT_S,
        },
        "posted": load.posted,
        "accepted": len(load.accepted),
        "post_failures": dict(load.failures),
        "post_answer_ms": percentiles(load.answer_ms),
        "processed": len(done.keys() & load.accepted),
        "ledger_lines": sum(done.values()),
        "dead_lettered": len(dead_lettered),
        "dead_letter_queue_messages": dead_queue,
        "lost": len(lost),
        "lost_sample": sorted(lost)[:10],
        "duplicated": len(duplicated),
        "duplicated_sample": dict(sorted(duplicated.items())[:10]),
        "unexpected": len(unexpected),
        "ledger_caught_up_s": None if caught_up is None else round(caught_up, 1),
        "store_status": dict(Counter(job["status"] for job in jobs)),
        "completion_ms": percentiles(spans),
        "completion_unfinished": unfinished,
        "peak_queue_ready": peaks.depth,
        "peak_queue_ready_at_s": round(peaks.depth_at, 1),
        "queue_samples": {"taken": peaks.depth_samples, "missed": peaks.depth_misses},
        "peak_outbox_pending": peaks.outbox,
        "peak_outbox_at_s": round(peaks.outbox_at, 1),
        "kills": consumers.kills,
        "broker_restarts": faults.done,
        "broker_outage_s": {"stop_app": faults.stop_app, "kill_restart": faults.crash},
        "duplicates_metric": {
            kind: sum(c.duplicates.get(kind, 0) for c in consumers.every) for kind in ("possible", "skipped")
        },
        "duplicates_metric_processes": {"read": len(read), "ran": len(consumers.every)},
        "logged": dict(logged_events(work_dir)),
        "timeline": timeline.entries,
    }


async def _gateway_ready(http: httpx.AsyncClient) -> bool:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        return (await http.get("/readyz")).json()["status"] == "ready"
    return False


async def _dead_queue_depth(amqp_url: str, name: str) -> int | None:
    with contextlib.suppress(Exception):
        connection = await aio_pika.connect(amqp_url)
        try:
            return await queue_depth(connection, name)
        finally:
            await connection.close()
    return None


def report(result: dict[str, Any]) -> list[str]:
    """The chaos run's lines under the table."""
    p = result["parameters"]
    metric, processes = result["duplicates_metric"], result["duplicates_metric_processes"]
    outage = result["broker_outage_s"]

    def ms(spread: dict[str, float | None]) -> str:
        return "/".join("-" if spread[k] is None else f"{spread[k]:,.0f}" for k in ("p50", "p95", "p99", "max"))

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} s"

    return [
        f"chaos: {p['rate_per_s']} req/s for {p['minutes']:g} min; a consumer SIGKILLed every {p['kill_every_s']:g} s "
        f"(2 competing, prefetch {p['prefetch']}, {p['slow_seconds']} s per job, heartbeat {p['heartbeat_s']} s)",
        f"chaos: accepted {result['accepted']:,} of {result['posted']:,} POSTs; not accepted "
        f"{result['post_failures'] or 'none'} (httpx timeout {p['post_timeout_s']:g} s per phase); "
        f"POST -> 202 p50/p95/p99/max {ms(result['post_answer_ms'])} ms",
        f"chaos: processed {result['processed']:,} (ledger lines {result['ledger_lines']:,}), "
        f"dead-lettered {result['dead_lettered']} (dead-letter queue: {result['dead_letter_queue_messages']}), "
        f"lost {result['lost']}, duplicated {result['duplicated']}, unexpected {result['unexpected']}",
        f"chaos: ledger complete {seconds(result['ledger_caught_up_s'])} after the load "
        f"(gave up after {LEDGER_TIMEOUT_S:g} s if '-'); job store: {result['store_status']}",
        f"chaos: created_at -> finished_at p50/p95/p99/max {ms(result['completion_ms'])} ms "
        f"({result['completion_unfinished']} accepted jobs without finished_at)",
        f"chaos: peak email queue depth {result['peak_queue_ready']:,} ready messages at "
        f"t={result['peak_queue_ready_at_s']} s (passive declare every {SAMPLE_EVERY_S:g} s, "
        f"{result['queue_samples']['taken']} samples, {result['queue_samples']['missed']} missed while the broker "
        f"was away); peak outbox {result['peak_outbox_pending']:,} at t={result['peak_outbox_at_s']} s",
        f"chaos: {result['kills']} consumer kills, {result['broker_restarts']} broker restarts "
        f"(stop_app to start_app done {seconds(outage['stop_app'])}, "
        f"kill to restart done {seconds(outage['kill_restart'])})",
        f"chaos: offload_duplicates_total possible {metric['possible']:g}, skipped {metric['skipped']:g}, summed over "
        f"{processes['read']} of {processes['ran']} processes (last read before each SIGKILL; what came after is "
        f"missed); in the logs of all of them: {result['logged'] or 'none'}",
        *([f"chaos: lost e.g. {result['lost_sample']}"] if result["lost"] else []),
        *([f"chaos: duplicated e.g. {result['duplicated_sample']}"] if result["duplicated"] else []),
        f"chaos: files {result['work_dir']}",
        *(f"chaos: {entry}" for entry in result["timeline"]),
    ]
