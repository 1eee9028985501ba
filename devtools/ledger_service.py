"""A service that writes each job's effect to a ledger file, and can die mid-task.

The fault tests, the service-worker tests and the chaos benchmark count its
effects with `ledger_counts`. Run it as `python -m devtools.ledger_service`
with the usual service settings, plus LEDGER_PATH. It handles the email
queue's events, so the gateway, the contracts and the topology are the real
ones:

- subject "crash": the process dies at once (os._exit), as an OOM kill would;
- any other subject: it waits SLOW_SECONDS (a task in progress), then appends
  the job id to the ledger, the effect a test counts.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

from contracts.events import EmailRequested
from runtime import JobContext, Service, ServiceSettings, run


class LedgerHandler:
    def __init__(self, ledger: Path, slow_seconds: float) -> None:
        self.ledger = ledger
        self.slow_seconds = slow_seconds

    async def __call__(self, event: EmailRequested, job: JobContext) -> dict[str, str]:
        if event.subject == "crash":
            os._exit(70)
        await asyncio.sleep(self.slow_seconds)
        # One short append per effect: whole lines, even with several writers.
        with self.ledger.open("a") as ledger:
            ledger.write(f"{event.job_id}\n")
        return {"recorded": str(event.job_id)}


def ledger_counts(path: Path) -> Counter[str]:
    """How many times each job's effect was written to the ledger at `path`."""
    return Counter(path.read_text().split()) if path.exists() else Counter()


def main() -> None:
    handler = LedgerHandler(Path(os.environ["LEDGER_PATH"]), float(os.environ.get("SLOW_SECONDS", "0")))
    run(Service(name="email", handler=handler, settings=ServiceSettings()))


if __name__ == "__main__":
    main()
