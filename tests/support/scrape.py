"""Reading a process's Prometheus metrics, as a scraper would: over HTTP, from its health port."""

from __future__ import annotations

import httpx

from devtools.processes import Process


def metric(process: Process, name: str, **labels: str) -> float:
    """The value of the sample `name` with these labels at the process's /metrics; 0 when there is none."""
    assert process.health_url is not None
    text = httpx.get(process.health_url.replace("/readyz", "/metrics")).text
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(part in line for part in wanted.split(",")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
