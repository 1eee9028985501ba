"""The broker topology, declared once.

Every exchange, queue, binding and queue argument Offload uses is derived here
from a namespace and a service name; nothing else in the code types a queue
name. Declaring is idempotent, so the gateway and each service declare what
they use at start-up and always agree on the arguments.

    events (topic) ──email.requested──▶ offload.email ──handler──▶ ack
                                           │ transient error: republish to
                                           ▼
                    retry (direct) ──▶ offload.email.retry.2s ──TTL──▶ offload.email
                                           │ permanent error, invalid message,
                                           ▼ or delivery limit reached
                    dead (direct) ───email──▶ offload.email.dead
    events ──job.*──▶ offload.gateway.status ──▶ the gateway's job store
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from contracts.events import TASK_EVENTS, TaskType

ExchangeType = Literal["topic", "direct"]

# A message that kills its consumer is redelivered; once it was redelivered
# this many times (and crashed again), the broker dead-letters it instead of
# feeding it to the next consumer.
DELIVERY_LIMIT = 5

# Browses of a dead letter before the broker would drop it: never, in practice.
DEAD_LETTER_DELIVERY_LIMIT = 1_000_000

# Where each task type is worked on: service name -> the task it handles.
SERVICE_TASKS: Mapping[str, TaskType] = {
    "email": TaskType.email,
    "file": TaskType.file,
    "notify": TaskType.notification,
    "analytics": TaskType.analysis,
}

GATEWAY = "gateway"

# How long one delivery may stay unacked before the broker takes it back (and
# closes the consumer's channel). It bounds a job's run time, so services with
# long jobs get more. Honoured per queue by RabbitMQ 3.12 and later; older
# brokers ignore the argument and apply their global `consumer_timeout`
# (30 minutes by default), which must then be raised in rabbitmq.conf.
CONSUMER_TIMEOUT_MS: Mapping[str, int] = {
    "email": 30 * 60_000,
    "notify": 30 * 60_000,
    "file": 6 * 3_600_000,
    "analytics": 6 * 3_600_000,
    GATEWAY: 30 * 60_000,
}


@dataclass(frozen=True)
class Exchange:
    name: str
    type: ExchangeType


@dataclass(frozen=True)
class Binding:
    exchange: str
    routing_key: str


@dataclass(frozen=True)
class Queue:
    name: str
    arguments: Mapping[str, str | int] = field(default_factory=dict)
    bindings: tuple[Binding, ...] = ()


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt n+1 waits first_delay * multiplier**(n-1)."""

    max_attempts: int = 5
    first_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.first_delay <= 0 or self.multiplier < 1:
            raise ValueError(f"not a usable retry policy: {self}")

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based)."""
        try:
            grown = self.first_delay * self.multiplier ** (attempt - 1)
        except OverflowError:  # many attempts with a steep multiplier: long past max_delay
            return self.max_delay
        return min(grown, self.max_delay)

    def delays(self) -> tuple[float, ...]:
        """Every distinct delay this policy can ask for, shortest first."""
        return tuple(sorted({self.delay_after(n) for n in range(1, self.max_attempts)}))


def _delay_label(seconds: float) -> str:
    milliseconds = round(seconds * 1000)
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"


@dataclass(frozen=True)
class ServiceQueues:
    """The queues one consumer owns: where work arrives, waits, and ends up dead."""

    service: str
    task: TaskType | None
    """The task its work queue carries; None for the gateway's status events, facts about jobs."""
    work: Queue
    delays: Mapping[float, Queue]
    dead: Queue

    def all(self) -> tuple[Queue, ...]:
        return (self.work, *self.delays.values(), self.dead)

    @property
    def tries_in_header(self) -> bool:
        """Whether its consumer counts a message's tries in a header rather than in the body.

        A task event counts its own tries (its `attempt`). A status event's
        `attempt` is its job's, so the status event's own tries go in a header.
        """
        return self.task is None


@dataclass(frozen=True)
class Topology:
    namespace: str = "offload"
    delivery_limit: int = DELIVERY_LIMIT

    @property
    def events(self) -> Exchange:
        """Task and status events, routed by their `type`."""
        return Exchange(f"{self.namespace}.events", "topic")

    @property
    def retry(self) -> Exchange:
        """Delayed retries, routed by delay queue name."""
        return Exchange(f"{self.namespace}.retry", "direct")

    @property
    def dead_letters(self) -> Exchange:
        """Dead letters, routed by service name."""
        return Exchange(f"{self.namespace}.dead", "direct")

    def exchanges(self) -> tuple[Exchange, ...]:
        return (self.events, self.retry, self.dead_letters)

    def routing_key(self, task: TaskType) -> str:
        return TASK_EVENTS[task].routing_key

    def service(self, service: str, retry: RetryPolicy | None = None) -> ServiceQueues:
        """The queues of a task service; with `retry`, also its delay queues."""
        if service not in SERVICE_TASKS:
            raise KeyError(f"unknown service {service!r}; known: {sorted(SERVICE_TASKS)}")
        task = SERVICE_TASKS[service]
        task_binding = Binding(self.events.name, self.routing_key(task))
        return self._queues(service, task, task_binding, f"{self.namespace}.{service}", retry)

    def gateway(self, retry: RetryPolicy | None = None) -> ServiceQueues:
        """The gateway's queue of job status events, its delay queues and dead letters."""
        status_binding = Binding(self.events.name, "job.*")
        return self._queues(GATEWAY, None, status_binding, f"{self.namespace}.{GATEWAY}.status", retry)

    def consumer(self, name: str, retry: RetryPolicy | None = None) -> ServiceQueues:
        """The queues of the consumer called `name`: a task service, or the gateway (KeyError for neither)."""
        return self.gateway(retry) if name == GATEWAY else self.service(name, retry)

    def every_queue(self, retry: RetryPolicy | None = None) -> tuple[Queue, ...]:
        """All queues of every consumer; delay queues only for a `retry` policy
        (without one: what the gateway declares, as each consumer declares its own)."""
        owners = [self.service(name, retry) for name in SERVICE_TASKS] + [self.gateway(retry)]
        return tuple(queue for owner in owners for queue in owner.all())

    def _queues(
        self, owner: str, task: TaskType | None, binding: Binding, work_name: str, retry: RetryPolicy | None
    ) -> ServiceQueues:
        delays = {seconds: self._delay_queue(work_name, seconds) for seconds in (retry.delays() if retry else ())}
        work = self._work_queue(owner, binding, work_name)
        return ServiceQueues(owner, task, work, delays, self._dead_queue(owner))

    def _work_queue(self, owner: str, binding: Binding, name: str) -> Queue:
        return Queue(
            name=name,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": self.dead_letters.name,
                "x-dead-letter-routing-key": owner,
                # Dead-lettering is confirmed inside the broker, so a message is
                # never dropped between the work queue and the dead-letter queue.
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-consumer-timeout": CONSUMER_TIMEOUT_MS[owner],
            },
            bindings=(binding,),
        )

    def _delay_queue(self, work_name: str, seconds: float) -> Queue:
        name = f"{work_name}.retry.{_delay_label(seconds)}"
        return Queue(
            name=name,
            arguments={
                "x-queue-type": "quorum",
                "x-message-ttl": round(seconds * 1000),
                # Expired messages go back to the work queue by its name.
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": work_name,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
            bindings=(Binding(self.retry.name, name),),
        )

    def _dead_queue(self, owner: str) -> Queue:
        return Queue(
            name=f"{self.namespace}.{owner}.dead",
            arguments={
                "x-queue-type": "quorum",
                # Browsing a dead-letter queue returns its messages, and RabbitMQ
                # 4.x counts returns against a default limit of 20, past which a
                # queue without a dead-letter exchange drops them. -1 ("no limit"
                # on 4.x) drops at once on 3.x, so the limit is explicit and huge.
                "x-delivery-limit": DEAD_LETTER_DELIVERY_LIMIT,
            },
            bindings=(Binding(self.dead_letters.name, owner),),
        )
