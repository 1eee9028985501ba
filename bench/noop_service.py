"""`python -m bench.noop_service`: the email service's wiring with a no-op handler, for (c).

It runs on the shared runtime exactly as `email_service` does (same queues,
prefetch, status events), but its handler only writes down when each job
started, as "<job_id> <time.time()>" lines in `BENCH_STARTS_FILE`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from contracts.events import EmailRequested
from runtime import JobContext, Service, ServiceSettings, run
from runtime.consumer import Handler


class NoopSettings(ServiceSettings):
    bench_starts_file: Path


@asynccontextmanager
async def start_recorder(path: Path) -> AsyncIterator[Handler[EmailRequested]]:
    # Line-buffered, so the bench can read each start as soon as it happens.
    with path.open("a", buffering=1) as starts:

        async def record(event: EmailRequested, job: JobContext) -> None:
            starts.write(f"{event.job_id} {time.time()}\n")

        yield record


def main() -> None:
    settings = NoopSettings()
    run(Service(name="email", handler=start_recorder(settings.bench_starts_file), settings=settings))


if __name__ == "__main__":
    main()
