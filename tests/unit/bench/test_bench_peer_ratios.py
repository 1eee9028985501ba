"""Offload's rates next to the peers': which rate each peer is set against, the ratio, the goal."""

from __future__ import annotations

from typing import Any

from bench.__main__ import table
from bench.peers.compare import compare


def peer(title: str, processes: int, rate: float | None) -> dict[str, Any]:
    about = {"title": title, "processes": processes, "prefetch": "16", "versions": {"lib": "1.0"}, "command": "lib"}
    if rate is None:
        return {**about, "error": "RuntimeError: lib exited (1) after 0 jobs"}
    return {**about, **drained(rate), "left_in_queue": 0, "stray_processes": 0}


def drained(rate: float) -> dict[str, Any]:
    return {"drained": True, "finished": 5000, "seconds": 5000 / rate, "msg_per_s": rate}


def b_run(rate: float) -> dict[str, Any]:
    """One prefetch of (b), as bench.drain.measure returns it."""
    return {
        "parameters": {"messages": 5000, "drain_budget_s": 25.0},
        "offload": {**drained(rate), "status_events_published": 10000},
        "baseline": drained(3000.0),
        "ratio": rate / 3000.0,
    }


def run(b16: float | None = 400.0, d: float | None = 600.0, **rates: tuple[str, int, float | None]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if b16 is not None:
        # (b) at another prefetch is never what a peer is set against.
        results["b"] = {"16": b_run(b16), "100": b_run(9999.0)}
    if d is not None:
        parameters = {"messages": 5000, "how": "2 copies", "inbox": "on", "prefetch": 16, "store": "SQLite"}
        results["d"] = {
            **drained(d),
            "parameters": parameters,
            "succeeded": 5000,
            "handlers_done_after_s": 1.0,
            "redelivered_starts": 0,
        }
    results["peers"] = {
        "parameters": {"messages": 5000, "look_every_s": 0.005, "drain_budget_s": 60.0},
        "peers": {name: peer(*spec) for name, spec in rates.items()},
    }
    return results


def by_peer(results: dict[str, Any]) -> dict[str, Any]:
    return {comparison.peer: comparison for comparison in compare(results)}


def test_two_process_peers_face_the_end_to_end_drain_and_one_process_peers_the_runtime_at_prefetch_16():
    found = by_peer(run(taskiq=("Taskiq", 2, 3000.0), faststream=("FastStream", 1, 2000.0)))

    assert (found["taskiq"].source, found["taskiq"].offload_rate) == ("d", 600.0)
    assert found["taskiq"].ratio == 0.2
    assert (found["faststream"].source, found["faststream"].offload_rate) == ("b", 400.0)
    assert found["faststream"].ratio == 0.2


def test_each_goal_is_met_from_its_own_ratio_on_up():
    found = by_peer(
        run(
            d=1800.0,
            taskiq=("Taskiq", 2, 1800.0),
            celery=("Celery", 2, 901.0),
            aio_pika=("raw aio-pika", 1, 1000.0),
            faststream=("FastStream", 1, 100.0),
            b16=600.0,
        )
    )

    assert found["taskiq"].met is True  # 1.0x exactly
    assert found["celery"].met is False  # just under 2x
    assert found["aio_pika"].met is True  # 0.6x exactly
    assert found["faststream"].goal is None and found["faststream"].met is None


def test_a_failed_peer_or_an_offload_rate_not_measured_gives_no_ratio_and_no_verdict():
    found = by_peer(run(d=None, b16=None, taskiq=("Taskiq", 2, 3000.0), celery=("Celery", 2, None)))

    assert found["taskiq"].offload_rate is None and found["taskiq"].ratio is None and found["taskiq"].met is None
    assert found["celery"].peer_rate is None and found["celery"].met is None


def test_the_table_marks_each_goal_and_says_what_offload_rate_each_peer_faced():
    text = table(run(taskiq=("Taskiq", 2, 3000.0), aio_pika=("raw aio-pika", 1, 500.0)))

    taskiq = next(line for line in text.splitlines() if line.startswith("Taskiq, 2 proc"))
    assert "600 (d)" in taskiq and "0.20" in taskiq and ">= 1.00  MISSED" in taskiq
    raw = next(line for line in text.splitlines() if line.startswith("raw aio-pika, 1 proc"))
    assert "400 (b)" in raw and "0.80" in raw and ">= 0.60  ok" in raw


def test_without_the_extra_the_table_says_the_peers_were_skipped_and_how_to_install_them():
    text = table({"peers": {"skipped": "celery not installed; install them with: pip install '.[bench]'"}})

    assert "peers: skipped: celery not installed; install them with: pip install '.[bench]'" in text.splitlines()
