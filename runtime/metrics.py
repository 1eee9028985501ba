"""Prometheus metrics of the consumer runtime, labelled by service.

A service of several worker processes (see `runtime.supervisor`) counts in
prometheus_client's multiprocess mode: each worker writes its values to files
in PROMETHEUS_MULTIPROC_DIR, which the supervisor sets for it, and the
supervisor's /metrics adds them up. The names and labels are the same either
way; the gauges say how they add up (`livesum`: the sum over the workers alive).
"""

from collections.abc import Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response

MESSAGES = Counter(
    "offload_messages",
    "Messages a consumer finished with, by outcome (succeeded, retried, dead_lettered, invalid, requeued).",
    ["service", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "offload_handler_seconds",
    "Time spent in the service's handler per message.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
IN_FLIGHT = Gauge("offload_in_flight", "Messages being handled right now.", ["service"], multiprocess_mode="livesum")
CONSUMER_ATTACHED = Gauge(
    "offload_consumer_attached",
    "Processes of the service subscribed to its queue: 1 while a single process is, up to WORKERS.",
    ["service"],
    multiprocess_mode="livesum",
)
DUPLICATES = Counter(
    "offload_duplicates",
    "Deliveries of a message seen before: 'skipped' (finished before, not run again) or "
    "'possible' (redelivered after an unfinished try, whose effect may have happened).",
    ["service", "kind"],
)


async def metrics_endpoint(_: Request) -> Response:
    """Every metric of this process, in Prometheus' text format, at exactly /metrics."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def workers_metrics_endpoint(directory: str) -> Callable[[Request], Awaitable[Response]]:
    """/metrics of a supervisor: what its workers wrote to `directory`, added up."""

    async def endpoint(_: Request) -> Response:
        # A registry per scrape, as prometheus_client's multiprocess mode asks:
        # the collector reads the files afresh each time.
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return endpoint
