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

from bench import chaos, drain, http_accept, latency
from bench.system import machine_facts

RESULTS = Path(__file__).parent / "results" / "latest.json"
PREFETCHES = (16, 100)
GOALS = {"a": 0.50, "b": 0.60}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default="a,b,c", help="comma-separated measurements to run (default: a,b,c)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load for (a) and (c) (default: 10)")
    parser.add_argument("--messages", type=int, default=20_000, help="messages drained in (b) (default: 20000)")
    parser.add_argument(
        "--rate",
        type=int,
        default=latency.RATE_PER_S,
        help=f"POSTs per second in (c) and chaos (default: {latency.RATE_PER_S})",
    )
    parser.add_argument(
        "--chaos-minutes",
        type=float,
        default=chaos.MINUTES,
        help=f"minutes of load in chaos (default: {chaos.MINUTES:g})",
    )
    parser.add_argument(
        "--kill-every",
        type=float,
        default=chaos.KILL_EVERY_S,
        help=f"seconds between consumer kills in chaos (default: {chaos.KILL_EVERY_S:g})",
    )
    args = parser.parse_args(argv)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    # chaos runs for minutes, so only when asked for: --only chaos.
    if not args.only <= {"a", "b", "c", "chaos"}:
        parser.error(f"--only takes a, b, c and chaos, not {sorted(args.only - {'a', 'b', 'c', 'chaos'})}")
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
        results["b"] = {}
        for prefetch in PREFETCHES:
            results["b"][str(prefetch)] = _attempt(
                f"(b) drain, prefetch {prefetch}", lambda p=prefetch: drain.measure(args.messages, p, work_dir)
            )
    if "c" in args.only:
        results["c"] = _attempt("(c) latency", lambda: latency.measure(args.duration, work_dir, rate=args.rate))
    if "chaos" in args.only:
        results["chaos"] = _attempt("chaos", lambda: chaos.measure(args.chaos_minutes, args.rate, args.kill_every))
    return results


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _spread(percentiles: dict[str, float | None]) -> str:
    return "/".join(_num(percentiles[key], 1) for key in ("p50", "p95", "p99", "max"))


def _problem(result: dict[str, Any]) -> str:
    """Why a measurement has no numbers, on one line (the traceback went to stderr)."""
    text = result.get("skipped") or result.get("error") or "no result"
    first = text.splitlines()[0]
    return first if len(first) <= 90 else first[:87] + "..."


def _drained(run: dict[str, Any], measurement: dict[str, Any]) -> str:
    expected = measurement["parameters"]["messages"]
    text = f"{run['finished']:,}/{expected:,} finished in {run['seconds']:.1f} s"
    return text if run["drained"] else f"{text} (budget of {measurement['parameters']['drain_budget_s']:g} s spent)"


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
            queued = a["offload_jobs_queued"]
            notes.append(
                f"(a) offload: {a['offload_2xx_answered']:,} answered 2xx (warm-up included); jobs in the email "
                f"queue: {queued['when_load_stopped']:,} when the load stopped, {queued['at_last']:,} "
                f"{queued['catch_up_s']} s later"
            )
        else:
            rows.append(("(a) POST /v1/emails, req/s", _problem(a), "", "", ""))
    for prefetch, b in results.get("b", {}).items():
        label = f"(b) drain, msg/s, prefetch {prefetch}"
        if "offload" not in b:
            rows.append((label, _problem(b), "", "", ""))
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
        off, raw = b["offload"], b["baseline"]
        notes.append(
            f"(b) prefetch {prefetch}: offload {_drained(off, b)}, {off['status_events_published']:,} status events "
            f"published; raw aio-pika {_drained(raw, b)}"
        )
    if "c" in results:
        c = results["c"]
        if "post_to_start_ms" in c:
            start, answer = c["post_to_start_ms"], c["post_answer_ms"]
            rows.append(
                (
                    "(c) POST -> handler start, p50/p99",
                    f"{_num(start['p50'], 1)} / {_num(start['p99'], 1)} ms",
                    "-",
                    "",
                    "",
                )
            )
            notes.append(
                f"(c) {c['parameters']['rate_per_s']} req/s for {c['parameters']['duration_s']} s: "
                f"{c['accepted']:,}/{c['posted']:,} accepted, errors {c['post_errors'] or 'none'}, "
                f"never started {c['never_started']}, succeeded in store {c['succeeded_in_store']:,}"
            )
            notes.append(
                f"(c) p50/p95/p99/max: POST -> handler start {_spread(start)} ms; "
                f"POST -> 202 answer {_spread(answer)} ms"
            )
        else:
            rows.append(("(c) POST -> handler start, p50/p99", _problem(c), "", "", ""))
    if "chaos" in results:
        ch = results["chaos"]
        if "lost" in ch:
            missed = ch["lost"] or ch["duplicated"]
            goal = f"0 / 0  {'MISSED' if missed else 'ok'}"
            rows.append(("chaos: lost / duplicated", f"{ch['lost']} / {ch['duplicated']}", "-", "", goal))
            notes.extend(chaos.report(ch))
        else:
            rows.append(("chaos: lost / duplicated", _problem(ch), "", "", ""))

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
        f"parameters: --only {','.join(sorted(args.only))} --duration {args.duration} --messages {args.messages} "
        f"--rate {args.rate}; "
        f"(a) wrk -t{http_accept.THREADS} -c{http_accept.CONNECTIONS} -d{args.duration}s --latency after a "
        f"{http_accept.WARM_UP_SECONDS} s warm-up; (b) prefetch {', '.join(map(str, PREFETCHES))}, quorum queues, "
        f"{drain.DRAIN_BUDGET:g} s budget per consumer; "
        f"(c) {args.rate} req/s, start timeout {latency.START_TIMEOUT:g} s"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "finished_at": datetime.now(UTC).isoformat(),
                "arguments": {
                    "only": sorted(args.only),
                    "duration": args.duration,
                    "messages": args.messages,
                    "rate": args.rate,
                },
                "machine": facts,
                "results": results,
                "table": report,
            },
            indent=2,
        )
    )
    print(f"written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    measured = [results.get("a", {}), results.get("c", {}), results.get("chaos", {}), *results.get("b", {}).values()]
    failed = any("error" in result for result in measured)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
