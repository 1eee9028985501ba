"""Each peer drains the same number of no-op jobs from its own pre-filled quorum queue.

For every peer, in a vhost of the run's own: the library's own client fills
the queue (in a process of its own, `python -m bench.peers.<app> prefill N`)
and the bench waits until the broker holds all N; then the library's own
command starts its workers. The clock runs between two looks at the count of
handled jobs (`bench.peers.handled`, read every few milliseconds): from the
first look that finds any handled to the one that finds all N handled, over
the jobs handled in between. So starting the processes, connecting and
declaring are left out for every peer, as in (b). A peer that has not
finished within the budget is reported at its rate so far.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import aio_pika

from bench.peers.compare import PREFETCH
from bench.peers.handled import handled_so_far
from bench.peers.settings import WORKER_PROCESSES, PeerSettings
from bench.peers.vhost import own_vhost
from bench.peers.workers import ProcessGroup
from bench.system import AMQP_URL, RUN_ID, queue_depth

# Seconds between two looks at the count of handled jobs.
LOOK_EVERY = 0.005
# Seconds a peer's command gets to handle its first job (importing, connecting, declaring).
START_TIMEOUT = 60.0
# Seconds a peer gets, from its first handled job, to handle them all.
DRAIN_BUDGET = 60.0
PREFILL_TIMEOUT = 300.0
QUEUED_TIMEOUT = 30.0


def _script(name: str) -> str:
    """A console script installed next to this Python (the venv's `taskiq`, `celery`, ...), else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name) or name


@dataclass(frozen=True)
class Peer:
    name: str
    title: str
    app: str
    processes: int
    prefetch: str
    distributions: tuple[str, ...]
    command: Callable[[], list[str]]


PEERS = (
    Peer(
        "taskiq",
        "Taskiq",
        "bench.peers.taskiq_app",
        WORKER_PROCESSES,
        f"{PREFETCH} per worker process (the broker's qos)",
        ("taskiq", "taskiq-aio-pika"),
        lambda: [
            _script("taskiq"),
            "worker",
            "bench.peers.taskiq_app:broker",
            "--workers",
            str(WORKER_PROCESSES),
            "--log-level",
            "WARNING",
        ],
    ),
    Peer(
        "celery",
        "Celery",
        "bench.peers.celery_app",
        WORKER_PROCESSES,
        f"{PREFETCH} for the worker (multiplier {PREFETCH // WORKER_PROCESSES} x {WORKER_PROCESSES} processes)",
        ("celery", "kombu"),
        lambda: [
            _script("celery"),
            "-A",
            "bench.peers.celery_app",
            "worker",
            "-c",
            str(WORKER_PROCESSES),
            "-P",
            "prefork",
            "--loglevel",
            "WARNING",
        ],
    ),
    Peer(
        "faststream",
        "FastStream",
        "bench.peers.faststream_app",
        1,
        f"{PREFETCH} (the default channel's prefetch_count)",
        ("faststream",),
        lambda: [_script("faststream"), "run", "bench.peers.faststream_app:app", "--log-level", "warning"],
    ),
    Peer(
        "aio_pika",
        "raw aio-pika",
        "bench.peers.aio_pika_app",
        1,
        f"{PREFETCH} (basic.qos)",
        ("aio-pika",),
        lambda: [sys.executable, "-m", "bench.peers.aio_pika_app", "consume"],
    ),
)


def _versions(peer: Peer) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in peer.distributions:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


async def _prefill(peer: Peer, settings: PeerSettings, count: int, log_path: Path) -> None:
    """Queue `count` jobs with the library's own client, and wait until the broker holds them all."""
    filling = ProcessGroup([sys.executable, "-m", peer.app, "prefill", str(count)], settings.env(), log_path).start()
    deadline = time.monotonic() + PREFILL_TIMEOUT
    while filling.exit_code() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    code = filling.exit_code()
    await asyncio.to_thread(filling.stop)
    if code != 0:
        raise RuntimeError(f"{peer.name} prefill failed ({code}):\n{filling.output_tail()}")
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        deadline = time.monotonic() + QUEUED_TIMEOUT
        while (queued := await queue_depth(connection, settings.queue)) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{peer.name}: {queued:,} of {count:,} jobs queued after {QUEUED_TIMEOUT:g} s")
            await asyncio.sleep(0.1)
    finally:
        await connection.close()


async def _watch(peer: Peer, workers: ProcessGroup, handled_file: Path, count: int) -> dict[str, Any]:
    """Look at the count of handled jobs until it reaches `count` or the budget is spent."""
    start_deadline = time.monotonic() + START_TIMEOUT
    first: tuple[float, int] | None = None
    while True:
        now, done = time.perf_counter(), handled_so_far(handled_file)
        if first is None and done:
            first = (now, done)
        if done >= count or (first is not None and now - first[0] > DRAIN_BUDGET):
            break
        code = workers.exit_code()
        if code is not None:
            raise RuntimeError(f"{peer.name} exited ({code}) after {done:,} jobs:\n{workers.output_tail()}")
        if first is None and time.monotonic() > start_deadline:
            raise RuntimeError(f"{peer.name} handled no job within {START_TIMEOUT:g} s:\n{workers.output_tail()}")
        await asyncio.sleep(LOOK_EVERY)
    seconds, jobs = now - first[0], done - first[1]
    if jobs == 0:
        raise RuntimeError(f"{peer.name} handled all {count:,} jobs before a second look: use more --messages")
    return {"drained": done >= count, "finished": done, "seconds": seconds, "msg_per_s": jobs / seconds}


async def _drain(peer: Peer, amqp_url: str, count: int, work_dir: Path) -> dict[str, Any]:
    settings = PeerSettings(
        amqp_url=amqp_url,
        queue=f"bench-{RUN_ID}-{peer.name}",
        prefetch=PREFETCH,
        handled_file=work_dir / f"peer-{peer.name}-handled",
    )
    await _prefill(peer, settings, count, work_dir / f"peer-{peer.name}-prefill.log")
    workers = ProcessGroup(peer.command(), settings.env(), work_dir / f"peer-{peer.name}.log").start()
    try:
        outcome = await _watch(peer, workers, settings.handled_file, count)
    finally:
        await asyncio.to_thread(workers.stop)
    connection = await aio_pika.connect(amqp_url)
    try:
        outcome["left_in_queue"] = await queue_depth(connection, settings.queue)
    finally:
        await connection.close()
    outcome["stray_processes"] = workers.strays
    return outcome


async def measure(count: int, work_dir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with own_vhost(AMQP_URL, f"offload-bench-{RUN_ID}-peers") as amqp_url:
        for peer in PEERS:
            print(f"  peer {peer.title} ...", file=sys.stderr, flush=True)
            about = {
                "title": peer.title,
                "processes": peer.processes,
                "prefetch": peer.prefetch,
                "versions": _versions(peer),
                "command": " ".join([Path(peer.command()[0]).name, *peer.command()[1:]]),
            }
            try:
                results[peer.name] = {**about, **await _drain(peer, amqp_url, count, work_dir)}
            except Exception as error:  # one peer failing is reported; the others still run
                traceback.print_exc()
                results[peer.name] = {**about, "error": f"{type(error).__name__}: {error}"}
    return {
        "parameters": {
            "messages": count,
            "prefetch": PREFETCH,
            "queue": "quorum, one per peer, in a vhost of the run's own",
            "look_every_s": LOOK_EVERY,
            "drain_budget_s": DRAIN_BUDGET,
        },
        "peers": results,
    }
