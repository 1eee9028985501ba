"""File processing through the running system: MB/s per operation and the service's peak memory.

    python -m bench.files                 # a 100 MB and a 1 GB CSV
    python -m bench.files --sizes 100     # sizes in MB

For each size, a CSV of mixed numeric and text columns is generated, then a
fresh file_service runs `checksum`, `csv_stats` and `csv_to_parquet` on it,
one job each, sent through the gateway. `sha256sum` hashes the same file in
the same run, as the baseline for `checksum`. Peak RSS is the service
process's high-water mark (VmHWM), so each size gets a service of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from bench.system import broker_env, cleaned_up, gateway, machine_facts, namespace_settings, running
from devtools.processes import free_port

OPERATIONS = ("checksum", "csv_stats", "csv_to_parquet")
MB = 1_000_000
BLOCK_ROWS = 400_000


def generate_csv(path: Path, size_mb: int) -> int:
    """About `size_mb` of CSV: one random block of ~40 MB, written again until the size is reached."""
    rng = np.random.default_rng(7)
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"])
    block = pd.DataFrame(
        {
            "id": np.arange(BLOCK_ROWS),
            "amount": rng.normal(100, 30, BLOCK_ROWS).round(2),
            "quantity": rng.integers(0, 1000, BLOCK_ROWS),
            "ratio": rng.random(BLOCK_ROWS),
            "category": rng.choice(words, BLOCK_ROWS),
            "comment": [f"order {i} for {words[i % 10]} customer {i * 7919 % 100003}" for i in range(BLOCK_ROWS)],
            "created": pd.date_range("2024-01-01", periods=BLOCK_ROWS, freq="s").strftime("%Y-%m-%dT%H:%M:%S"),
        }
    )
    body = block.to_csv(index=False, header=False).encode()
    header = (",".join(block.columns) + "\n").encode()
    with path.open("wb") as file:
        file.write(header)
        while file.tell() < size_mb * MB:
            file.write(body)
    return path.stat().st_size


def sha256sum_seconds(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout.split()[0]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def run_job(client: httpx.Client, key: str, operation: str, timeout: float = 3600) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    job_id = (
        client.post("/v1/files", json={"source": key, "operations": [operation]}).raise_for_status().json()["job_id"]
    )
    deadline = started + timeout
    while time.perf_counter() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "dead_lettered"):
            if job["status"] != "succeeded":
                raise RuntimeError(f"{operation} failed: {job['error']}")
            return job["result"], time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError(f"{operation} did not finish in {timeout}s")


async def measure(sizes: list[int], work_dir: Path) -> dict[str, Any]:
    settings = namespace_settings("files", work_dir)
    root = work_dir / "files"
    (root / "bench").mkdir(parents=True, exist_ok=True)
    storage_env = {"FILE_STORAGE_ROOT": str(root)}
    rows: list[dict[str, Any]] = []
    async with cleaned_up(settings):
        with gateway(settings, work_dir, **storage_env) as base, httpx.Client(base_url=base, timeout=30) as client:
            for size_mb in sizes:
                key = f"bench/data-{size_mb}mb.csv"
                size = generate_csv(root / key, size_mb)
                baseline_s, baseline_digest = sha256sum_seconds(root / key)
                health = free_port()
                env = {**broker_env(settings), **storage_env, "HEALTH_PORT": str(health), "HEALTH_HOST": "127.0.0.1"}
                ready = f"http://127.0.0.1:{health}/readyz"
                with running("file_service", env, work_dir, ready) as service:
                    row: dict[str, Any] = {"size_mb": round(size / MB, 1), "sha256sum_mb_s": size / MB / baseline_s}
                    for operation in OPERATIONS:
                        result, wall = run_job(client, key, operation)
                        seconds = result[operation]["seconds"]
                        row[f"{operation}_mb_s"] = size / MB / seconds
                        row[f"{operation}_wall_s"] = wall
                        if operation == "checksum" and result["checksum"]["sha256"] != baseline_digest:
                            raise RuntimeError("checksum disagrees with sha256sum")
                    row["peak_rss_mb"] = peak_rss_mb(service.pid)
                    row["checksum_vs_sha256sum"] = row["checksum_mb_s"] / row["sha256sum_mb_s"]
                rows.append(row)
                (root / key).unlink()
    return {"machine": machine_facts(), "python_hashlib_mb_s": _hashlib_speed(), "rows": rows}


def _hashlib_speed() -> float:
    data = b"\0" * (64 * MB)
    started = time.perf_counter()
    hashlib.sha256(data).hexdigest()
    return 64 / (time.perf_counter() - started)


def print_table(report: dict[str, Any]) -> None:
    print("size MB | checksum MB/s | sha256sum MB/s | ratio | csv_stats MB/s | csv_to_parquet MB/s | peak RSS MB")
    for row in report["rows"]:
        print(
            f"{row['size_mb']:7.0f} | {row['checksum_mb_s']:13.0f} | {row['sha256sum_mb_s']:14.0f} | "
            f"{row['checksum_vs_sha256sum']:5.2f} | {row['csv_stats_mb_s']:14.0f} | "
            f"{row['csv_to_parquet_mb_s']:19.0f} | {row['peak_rss_mb']:11.0f}"
        )
    print(f"(hashlib.sha256 in memory: {report['python_hashlib_mb_s']:.0f} MB/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="CSV sizes in MB, comma-separated")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="offload-bench-files-") as work:
        report = asyncio.run(measure(sizes, Path(work)))
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
