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

from bench import chaos, drain, end_to_end, http_accept, latency, peers
from bench.peers import compare, drains
from bench.system import machine_facts

RESULTS = Path(__file__).parent / "results" / "latest.json"
PREFETCHES = (16, 100)
GOALS = {"a": 0.50, "b": 0.60}
# chaos runs for minutes, so only when asked for: --only chaos.
DEFAULT = ("a", "b", "c", "d", "peers")
MEASUREMENTS = (*DEFAULT, "chaos")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT),
        help=f"comma-separated measurements to run, of {', '.join(MEASUREMENTS)} (default: {','.join(DEFAULT)})",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of load for (a) and (c) (default: 10)")
    parser.add_argument(
        "--messages", type=int, default=20_000, help="messages drained in (b), (d) and by each peer (default: 20000)"
    )
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
    if not args.only <= set(MEASUREMENTS):
        parser.error(f"--only takes {', '.join(MEASUREMENTS)}, not {sorted(args.only - set(MEASUREMENTS))}")
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
    if "d" in args.only:
        results["d"] = _attempt("(d) drain end to end", lambda: end_to_end.measure(args.messages, work_dir))
    if "peers" in args.only:
        missing = peers.missing_libraries()
        if missing:
            skipped = f"{', '.join(missing)} not installed; install them with: {peers.INSTALL}"
            print(f"peers skipped: {skipped}", file=sys.stderr)
            results["peers"] = {"skipped": skipped}
        else:
            results["peers"] = _attempt("peers", lambda: drains.measure(args.messages, work_dir))
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


Row = tuple[str, str, str, str, str]


def _end_to_end(d: dict[str, Any], rows: list[Row], notes: list[str]) -> None:
    label = "(d) drain end to end, msg/s"
    if "msg_per_s" not in d:
        rows.append((label, _problem(d), "", "", ""))
        return
    parameters = d["parameters"]
    done = f"{d['succeeded']:,}/{parameters['messages']:,} succeeded in the store in {d['seconds']:.1f} s"
    if not d["drained"]:
        done += f" (budget of {parameters['budget_s']:g} s spent)"
    rows.append((label, _num(d["msg_per_s"]), "-", "", ""))
    notes.append(
        f"(d) {parameters['how']}, inbox {parameters['inbox']}, prefetch {parameters['prefetch']}, gateway with "
        f"{parameters['store']}: {done}; the handlers had started all jobs after {d['handlers_done_after_s']:.1f} s; "
        f"redelivered starts {d['redelivered_starts']}"
    )


def _peers(results: dict[str, Any], rows: list[Row], notes: list[str]) -> None:
    measured = results["peers"]
    if "skipped" in measured:
        notes.append(f"peers: skipped: {measured['skipped']}")
        return
    if "error" in measured:
        rows.append(("peers", _problem(measured), "", "", ""))
        return
    count = measured["parameters"]["messages"]
    notes.append(
        f"peers: {count:,} no-op jobs each, one quorum queue per peer in a vhost of the run's own; each handler "
        f"appends a byte to a file per job, and the clock runs between two looks at its size "
        f"(every {measured['parameters']['look_every_s'] * 1000:g} ms), from the first that finds a job handled "
        f"to the first that finds all; ratio = offload / peer"
    )
    for comparison in compare.compare(results):
        peer = measured["peers"][comparison.peer]
        label = f"{comparison.title}, {peer['processes']} proc, msg/s"
        versions = " + ".join(f"{name} {version}" for name, version in peer["versions"].items())
        if "error" in peer:
            rows.append((label, _problem(peer), "", "", ""))
            notes.append(f"peers: {comparison.title} ({versions}) failed: {_problem(peer)}")
            continue
        rows.append(
            (
                label,
                f"{_num(comparison.offload_rate)} ({comparison.source})",
                _num(comparison.peer_rate),
                "-" if comparison.ratio is None else f"{comparison.ratio:.2f}",
                "" if comparison.goal is None or comparison.ratio is None else _goal(comparison.ratio, comparison.goal),
            )
        )
        done = f"{peer['finished']:,}/{count:,} handled in {peer['seconds']:.1f} s"
        if not peer["drained"]:
            done += f" (budget of {measured['parameters']['drain_budget_s']:g} s spent)"
        notes.append(
            f"peers: {comparison.title} ({versions}): `{peer['command']}`, prefetch {peer['prefetch']}; {done}; "
            f"left in queue {peer['left_in_queue']}; stray processes {peer['stray_processes']}; set against "
            f"offload's ({comparison.source}) {comparison.offload}"
        )


def table(results: dict[str, Any]) -> str:
    rows: list[Row] = [("measure", "offload", "baseline / peer", "ratio", "goal")]
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
    if "d" in results:
        _end_to_end(results["d"], rows, notes)
    if "peers" in results:
        _peers(results, rows, notes)
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
        f"(c) {args.rate} req/s, start timeout {latency.START_TIMEOUT:g} s; "
        f"(d) WORKERS={end_to_end.WORKERS}, {end_to_end.BUDGET:g} s budget; "
        f"peers prefetch {compare.PREFETCH}, {drains.DRAIN_BUDGET:g} s budget each"
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
    measured = [results.get(name, {}) for name in ("a", "c", "d", "peers", "chaos")]
    measured += [*results.get("b", {}).values(), *results.get("peers", {}).get("peers", {}).values()]
    failed = any("error" in result for result in measured)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
