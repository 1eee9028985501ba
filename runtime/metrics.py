"""Prometheus metrics of the consumer runtime, labelled by service."""

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
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
IN_FLIGHT = Gauge("offload_in_flight", "Messages being handled right now.", ["service"])
CONSUMER_ATTACHED = Gauge(
    "offload_consumer_attached", "1 while the service's consumer is subscribed to its queue.", ["service"]
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
