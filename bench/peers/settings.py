"""What the bench tells each peer's processes through their environment.

Every peer app reads the same variables, so each drains its own quorum queue
in the run's own vhost, at the same prefetch, and counts the jobs it handled
into a file the bench watches (`bench.peers.handled`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Prefill publishes awaited together, as bench/drain.py does for Offload.
PUBLISH_BATCH = 500
# Taskiq's and Celery's worker processes, as their CLIs run them (taskiq's default, Celery's `-c`).
WORKER_PROCESSES = 2


@dataclass(frozen=True)
class PeerSettings:
    amqp_url: str
    queue: str
    prefetch: int
    handled_file: Path

    @classmethod
    def from_env(cls) -> PeerSettings:
        return cls(
            amqp_url=os.environ["BENCH_PEER_AMQP_URL"],
            queue=os.environ["BENCH_PEER_QUEUE"],
            prefetch=int(os.environ["BENCH_PEER_PREFETCH"]),
            handled_file=Path(os.environ["BENCH_PEER_HANDLED_FILE"]),
        )

    def env(self) -> dict[str, str]:
        return {
            "BENCH_PEER_AMQP_URL": self.amqp_url,
            "BENCH_PEER_QUEUE": self.queue,
            "BENCH_PEER_PREFETCH": str(self.prefetch),
            "BENCH_PEER_HANDLED_FILE": str(self.handled_file),
        }
