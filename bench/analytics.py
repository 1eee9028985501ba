"""Analytics through the running system, next to the same pandas code run directly.

    python -m bench.analytics                 # 10 million rows
    python -m bench.analytics --rows 2000000

A Parquet dataset of `--rows` rows (numeric, categorical and time columns) is
generated in a temp dir, the storage root of a gateway and an
analytics_service started for the run. Two jobs go through the gateway by
reference: a `groupby` with three aggregations, and a `describe` of three
numeric columns. Each is timed from the POST to the job read as succeeded,
and so is the same pandas code (`read_parquet` of the columns used, then
`groupby().agg()` or `describe()`) in this process, on the same file, after
the file has been read once so that both find it in the page cache. Each is
run `--repeat` times; the best time counts. "service s" runs from the POST to
the job read as succeeded (HTTP, broker and 20 ms polling included); "in
service s" from the handler's start to its outcome, as the job records them. The service's peak RSS is its
process's high-water mark (VmHWM), shown next to its ANALYTICS_MAX_MEMORY_BYTES.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.system import broker_env, cleaned_up, gateway, machine_facts, namespace_settings, running
from devtools.processes import free_port

CHUNK_ROWS = 1_000_000
MEMORY_CAP = 1024**3
CITIES = np.array([f"city-{number:02d}" for number in range(40)])
CHANNELS = np.array(["web", "store", "phone", "partner", "app"])

GROUPBY = {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum", "mean"], "quantity": ["max"]}}
DESCRIBE = {"op": "describe", "columns": ["amount", "quantity", "price"]}


def generate(path: Path, rows: int) -> int:
    """`rows` rows written a million at a time, so the generator never holds the whole table."""
    rng = np.random.default_rng(6)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    with pq.ParquetWriter(path, _schema(), compression="snappy") as writer:
        for offset in range(0, rows, CHUNK_ROWS):
            size = min(CHUNK_ROWS, rows - offset)
            seconds = np.arange(offset, offset + size) * 3
            writer.write_table(
                pa.table(
                    {
                        "city": rng.choice(CITIES, size),
                        "channel": rng.choice(CHANNELS, size),
                        "amount": rng.normal(100, 30, size),
                        "quantity": rng.integers(1, 50, size),
                        "price": rng.gamma(2.0, 10.0, size),
                        "at": pd.DatetimeIndex(start + pd.to_timedelta(seconds, unit="s")),
                    },
                    schema=_schema(),
                )
            )
    return path.stat().st_size


def _schema() -> pa.Schema:
    return pa.schema(
        [
            ("city", pa.string()),
            ("channel", pa.string()),
            ("amount", pa.float64()),
            ("quantity", pa.int64()),
            ("price", pa.float64()),
            ("at", pa.timestamp("us", tz="UTC")),
        ]
    )


def plain_groupby(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path, columns=["city", "amount", "quantity"])
    table = frame.groupby("city").agg(
        amount_sum=("amount", "sum"), amount_mean=("amount", "mean"), quantity_max=("quantity", "max")
    )
    return table.reset_index()


def plain_describe(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path, columns=["amount", "quantity", "price"]).describe()


def best_of(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, outcome = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        outcome = work()
        times.append(time.perf_counter() - started)
    return min(times), outcome


def run_job(client: httpx.Client, body: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    job_id = client.post("/v1/analytics", json=body).raise_for_status().json()["job_id"]
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] == "succeeded":
            return job
        if job["status"] == "dead_lettered":
            raise RuntimeError(f"the job failed: {job['error']}")
        time.sleep(0.02)
    raise TimeoutError(f"the job did not finish in {timeout}s")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


async def measure(rows: int, repeat: int, work_dir: Path) -> dict[str, Any]:
    settings = namespace_settings("analytics", work_dir)
    root = work_dir / "files"
    root.mkdir()
    path = root / "sales.parquet"
    size = generate(path, rows)
    path.read_bytes()  # into the page cache, for both sides alike
    health = free_port()
    env = {
        **broker_env(settings),
        "FILE_STORAGE_ROOT": str(root),
        "HEALTH_PORT": str(health),
        "HEALTH_HOST": "127.0.0.1",
        "ANALYTICS_MAX_ROWS": str(max(rows, 50_000_000)),
        "ANALYTICS_MAX_MEMORY_BYTES": str(MEMORY_CAP),
    }
    report: dict[str, Any] = {"rows": rows, "file_mb": round(size / 1e6, 1), "memory_cap_mib": MEMORY_CAP / 1024**2}
    async with cleaned_up(settings):
        # Dataset jobs pass by reference: the gateway never opens the file, so it needs no storage settings.
        with (
            gateway(settings, work_dir) as base,
            httpx.Client(base_url=base, timeout=30) as client,
            running("analytics_service", env, work_dir, f"http://127.0.0.1:{health}/readyz") as service,
        ):
            tiny = {"records": [{"city": "Oslo", "amount": 1.0, "quantity": 2}], "operations": [GROUPBY]}
            report["tiny_job_s"] = round(min(_timed_job(client, tiny)[0] for _ in range(5)), 3)
            report["jobs"] = [
                _compare(client, "groupby (sum, mean, max)", GROUPBY, lambda: plain_groupby(path), rows, repeat),
                _compare(client, "describe (3 columns)", DESCRIBE, lambda: plain_describe(path), rows, repeat),
            ]
            report["service_peak_rss_mib"] = round(peak_rss_mib(service.pid), 1)
    report["machine"] = machine_facts()
    return report


def _compare(
    client: httpx.Client, name: str, operation: dict[str, Any], plain: Callable[[], Any], rows: int, repeat: int
) -> dict[str, Any]:
    plain_s, expected = best_of(repeat, plain)
    jobs = [_timed_job(client, {"dataset": "sales.parquet", "operations": [operation]}) for _ in range(repeat)]
    service_s, job = min(jobs, key=lambda timed: timed[0])
    in_service_s = min(_in_service(job) for _, job in jobs)
    got = pd.DataFrame(job["result"]["records"])
    if name.startswith("describe"):
        got = got.set_index("statistic")
    else:
        expected = expected.reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_names=False, rtol=1e-9)
    return {
        "job": name,
        "plain_pandas_s": round(plain_s, 3),
        "service_s": round(service_s, 3),
        "plain_rows_per_s": round(rows / plain_s),
        "service_rows_per_s": round(rows / service_s),
        "overhead_pct": round((service_s / plain_s - 1) * 100, 1),
        "in_service_s": round(in_service_s, 3),
        "in_service_overhead_pct": round((in_service_s / plain_s - 1) * 100, 1),
    }


def _timed_job(client: httpx.Client, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    job = run_job(client, body)
    return time.perf_counter() - started, job


def _in_service(job: dict[str, Any]) -> float:
    """From the handler's start to its outcome, as the service reported them (no HTTP, broker or polling)."""
    return (datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])).total_seconds()


def print_table(report: dict[str, Any]) -> None:
    print(f"{report['rows']:,} rows, Parquet {report['file_mb']} MB")
    print(
        "job                      | pandas s | service s | pandas rows/s | service rows/s | overhead "
        "| in service s | overhead"
    )
    for job in report["jobs"]:
        print(
            f"{job['job']:24} | {job['plain_pandas_s']:8.2f} | {job['service_s']:9.2f} | "
            f"{job['plain_rows_per_s']:13,} | {job['service_rows_per_s']:14,} | {job['overhead_pct']:+7.1f}% "
            f"| {job['in_service_s']:12.2f} | {job['in_service_overhead_pct']:+7.1f}%"
        )
    print(f"a one-record job, POST to succeeded: {report['tiny_job_s'] * 1000:.0f} ms")
    print(
        f"service peak RSS (VmHWM): {report['service_peak_rss_mib']:.0f} MiB; "
        f"ANALYTICS_MAX_MEMORY_BYTES: {report['memory_cap_mib']:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side; the best counts")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="offload-bench-analytics-") as work:
        report = asyncio.run(measure(args.rows, args.repeat, Path(work)))
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
