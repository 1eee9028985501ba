"""`python -m bench`: run the measurements, print the comparison table, save it as JSON."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

from bench import drain, http_accept, latency
from bench.system import machine_facts

RESULTS = Path(__file__).parent / "results" / "latest.json"
PREFETCHES = (16, 100)
GOALS = {"a": 0.50, "b": 0.60}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default="a,b,c", help="comma-separated measurements to run (default: a,b,c)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load for (a) and (c) (default: 10)")
    parser.add_argument("--messages", type=int, default=20_000, help="messages drained in (b) (default: 20000)")
    args = parser.parse_args(argv)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if not args.only <= {"a", "b", "c"}:
        parser.error(f"--only takes a, b and c, not {sorted(args.only - {'a', 'b', 'c'})}")
    return args


def _attempt(label: str, run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """One measurement; a failure is recorded and shown, and the others still run."""
    print(f"running {label} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        result = uvloop.run(run())
    except Exception as error:  # any failure of one measurement is reported, not fatal to the run
        traceback.print_exc()
        return {"error": f"{type(error).__name__}: {error}"}
    result["wall_s"] = round(time.monotonic() - started, 1)
    return result


def run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if "a" in args.only:
        if http_accept.wrk_available():
            results["a"] = _attempt("(a) accept rate", lambda: http_accept.measure(args.duration, work_dir))
        else:
            print(f"(a) skipped: wrk is not installed; install it with: {http_accept.INSTALL_WRK}", file=sys.stderr)
            results["a"] = {"skipped": f"wrk not installed ({http_accept.INSTALL_WRK})"}
    if "b" in args.only:
        results["b"] = {
            str(prefetch): _attempt(f"(b) drain, prefetch {prefetch}", lambda p=prefetch: drain.measure(args.messages, p))
            for prefetch in PREFETCHES
        }
    if "c" in args.only:
        results["c"] = _attempt("(c) latency", lambda: latency.measure(args.duration, work_dir))
    return results


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _goal(ratio: float, goal: float) -> str:
    return f">= {goal:.2f}  {'ok' if ratio >= goal else 'MISSED'}"


def table(results: dict[str, Any]) -> str:
    rows = [("measure", "offload", "baseline", "ratio", "goal")]
    notes: list[str] = []
    if "a" in results:
        a = results["a"]
        if "offload" in a:
            off, base = a["offload"], a["baseline"]
            rows.append(
                (
                    "(a) POST /v1/emails, req/s",
                    _num(off["requests_per_s"]),
                    f"{_num(base['requests_per_s'])} (BackgroundTasks)",
                    f"{a['ratio']:.2f}",
                    _goal(a["ratio"], GOALS["a"]),
                )
            )
            for name, run in (("offload", off), ("baseline", base)):
                lat = run["latency_ms"]
                notes.append(
                    f"(a) {name}: latency p50/p90/p99 {lat.get('p50', 0):.1f}/{lat.get('p90', 0):.1f}/"
                    f"{lat.get('p99', 0):.1f} ms, {run['requests']:,} requests, non-2xx {run['non_2xx']}, "
                    f"socket errors {run['socket_errors'] or 'none'}"
                )
            notes.append(
                f"(a) offload: {a['offload_2xx_answered']:,} answered 2xx (warm-up included), "
                f"{a['offload_jobs_queued']:,} jobs in the email queue"
            )
        else:
            rows.append(("(a) POST /v1/emails, req/s", a.get("skipped") or a.get("error", "?"), "", "", ""))
    for prefetch, b in results.get("b", {}).items():
        label = f"(b) drain, msg/s, prefetch {prefetch}"
        if "offload" not in b:
            rows.append((label, b.get("error", "?"), "", "", ""))
            continue
        rows.append(
            (
                label,
                _num(b["offload"]["msg_per_s"]),
                f"{_num(b['baseline']['msg_per_s'])} (raw aio-pika)",
                f"{b['ratio']:.2f}",
                _goal(b["ratio"], GOALS["b"]),
            )
        )
        notes.append(
            f"(b) prefetch {prefetch}: {b['parameters']['messages']:,} messages, offload "
            f"{b['offload']['seconds']:.2f} s, {b['offload']['status_events_published']:,} status events published, "
            f"left {b['offload']['left_in_queue']}; raw {b['baseline']['seconds']:.2f} s, left {b['baseline']['left_in_queue']}"
        )
    if "c" in results:
        c = results["c"]
        if "post_to_start_ms" in c:
            start, answer = c["post_to_start_ms"], c["post_answer_ms"]
            rows.append(
                ("(c) POST -> handler start, p50/p99", f"{_num(start['p50'], 1)} / {_num(start['p99'], 1)} ms", "-", "", "")
            )
            notes.append(
                f"(c) {c['parameters']['rate_per_s']} req/s for {c['parameters']['duration_s']} s: "
                f"{c['accepted']:,}/{c['posted']:,} accepted, errors {c['post_errors'] or 'none'}, "
                f"never started {c['never_started']}, succeeded in store {c['succeeded_in_store']:,}"
            )
            notes.append(
                f"(c) POST -> handler start p50/p95/p99/max {_num(start['p50'], 1)}/{_num(start['p95'], 1)}/"
                f"{_num(start['p99'], 1)}/{_num(start['max'], 1)} ms; POST -> 202 answer "
                f"{_num(answer['p50'], 1)}/{_num(answer['p95'], 1)}/{_num(answer['p99'], 1)}/{_num(answer['max'], 1)} ms"
            )
        else:
            rows.append(("(c) POST -> handler start, p50/p99", c.get("error", "?"), "", "", ""))

    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([*lines, "", *notes])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    facts = machine_facts()
    with tempfile.TemporaryDirectory(prefix="offload-bench-") as work_dir:
        results = run(args, Path(work_dir))
    report = table(results)
    print()
    print(report)
    print()
    print(
        f"machine: {facts['cores']} cores ({facts['cpu']}), Python {facts['python']}, RabbitMQ {facts['rabbitmq']}, "
        f"load average at start {facts['load_average_1m_at_start']}"
    )
    print("libraries: " + ", ".join(f"{name} {version}" for name, version in facts["libraries"].items()))
    print(
        f"parameters: --only {','.join(sorted(args.only))} --duration {args.duration} --messages {args.messages}; "
        f"(a) wrk -t{http_accept.THREADS} -c{http_accept.CONNECTIONS} -d{args.duration}s --latency after a "
        f"{http_accept.WARM_UP_SECONDS} s warm-up; (b) prefetch {', '.join(map(str, PREFETCHES))}, quorum queues; "
        f"(c) {latency.RATE_PER_S} req/s, start timeout {latency.START_TIMEOUT:g} s"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "finished_at": datetime.now(UTC).isoformat(),
                "arguments": {"only": sorted(args.only), "duration": args.duration, "messages": args.messages},
                "machine": facts,
                "results": results,
                "table": report,
            },
            indent=2,
        )
    )
    print(f"written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    failed = any("error" in result for result in [results.get("a", {}), results.get("c", {}), *results.get("b", {}).values()])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
