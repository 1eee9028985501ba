"""The peers: the same no-op jobs drained by Taskiq, Celery, FastStream and a raw aio-pika
consumer, each run as its users run it, on the same broker and queue type as Offload.

They need the optional `bench` extra; without it the bench says they were
skipped. `bench.peers.drains` runs them, `bench.peers.compare` sets
Offload's rates next to theirs.
"""

from __future__ import annotations

from importlib.util import find_spec

# Import names of what the `bench` extra installs.
LIBRARIES = ("taskiq", "taskiq_aio_pika", "celery", "faststream")
INSTALL = ".venv/bin/pip install -c constraints.txt -e '.[test,bench]' (make bench does it)"


def missing_libraries() -> list[str]:
    return [name for name in LIBRARIES if find_spec(name) is None]
