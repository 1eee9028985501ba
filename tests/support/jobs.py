"""Reading jobs through the gateway's HTTP API, the way a client would."""

from __future__ import annotations

import time
from typing import Any

import httpx


def wait_for_job(client: httpx.Client, job_id: str, status: str, timeout: float = 20.0) -> dict[str, Any]:
    """Poll the job until it reaches `status`; fail with its last state otherwise."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/v1/jobs/{job_id}")
        if response.status_code == 200:
            job = response.json()
            if job["status"] == status:
                return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {status!r} in {timeout}s; last seen: {job}")
