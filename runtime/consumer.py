"""The consumer: feeds one queue's messages to a handler and owns the ack policy.

For each delivery, exactly one of these happens before the ack:

- the handler returned: the job's success is reported;
- it raised `PermanentError`, or the message is invalid, or the last attempt
  failed: the message goes to the consumer's dead-letter queue with the reason
  in its headers, and the job's death is reported;
- it raised anything else: the next attempt goes to a delay queue, which
  hands it back to the work queue when its TTL expires, and the retry is
  reported.

Each of these publishes is confirmed by the broker before the ack. If one
cannot be made (the broker is gone), the message is not acked and the broker
delivers it again: work is repeated rather than lost.

What varies between consumers is passed in: how outcomes are reported (a
`Reporter`: job status events for a service, nothing for the gateway's
consumer of them) and how tries are counted (`Tries`: in the body or in a header).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel, TypeAdapter

from contracts import headers
from contracts.bounds import MAX_ERROR_TEXT, MAX_ERROR_TYPE, MAX_HISTORY, MAX_HISTORY_LINE
from contracts.events import DeadLetterReason, Envelope, ErrorInfo, Progress, utc_now
from contracts.failures import FailureRecord
from contracts.headers import DeliveryHeaders, delivery_headers_or_defaults
from contracts.topology import RetryPolicy, ServiceQueues
from runtime.broker import Broker
from runtime.decode import InvalidMessage, decode_headers, decode_message, job_id_in
from runtime.errors import PermanentError, TransientError
from runtime.inbox import Inbox
from runtime.job import JobContext
from runtime.metrics import DUPLICATES, HANDLER_SECONDS, IN_FLIGHT, MESSAGES
from runtime.redaction import redact_credentials
from runtime.reporting import JobAttempt, Reporter
from runtime.subscription import Subscription
from runtime.tries import Tries

E = TypeVar("E", bound=Envelope)
Result = Mapping[str, Any] | BaseModel | None
Handler = Callable[[E, JobContext], Awaitable[Result]]
# Says why a valid message must not be handled (None: handle it), given the
# broker user who published it (see Broker.publisher_of).
Screen = Callable[[E, str | None], str | None]

log = structlog.get_logger("offload.consumer")

# Jobs done sooner than this report no `job.started` of their own (see _StartReport).
STARTED_AFTER = 0.25

# Kept short in a dead letter's history; the whole text (up to MAX_ERROR_TEXT) is on the job.
HISTORY_ERROR_TEXT = 200


class Consumer(Generic[E]):
    def __init__(
        self,
        broker: Broker,
        queues: ServiceQueues,
        event_type: Any,
        handler: Handler[E],
        *,
        reporter: Reporter,
        tries: Tries,
        retry: RetryPolicy,
        prefetch: int,
        max_message_bytes: int,
        inbox: Inbox | None = None,
        screen: Screen[E] | None = None,
    ) -> None:
        """`reporter` tells what became of each job, `tries` says which try a
        delivery is and how the next one is made. With an `inbox`, a message
        finished before is not run again. A message `screen` refuses is
        dead-lettered unhandled."""
        self._broker = broker
        self._queues = queues
        self._adapter: TypeAdapter[E] = TypeAdapter(event_type)
        self._handler = handler
        self._reporter = reporter
        self._tries = tries
        self._retry = retry
        self._max_message_bytes = max_message_bytes
        self._inbox = inbox
        self._screen = screen
        self._service = queues.service
        self._subscription = Subscription(broker, queues.work, queues.service, prefetch, self._on_message)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._busy: dict[UUID, asyncio.Event] = {}

    @property
    def is_attached(self) -> bool:
        """True while the broker knows this consumer and can deliver to it."""
        return self._subscription.is_attached

    async def start(self) -> None:
        await self._subscription.start()

    async def stop(self, grace: float) -> None:
        """Take no new work, give in-flight work `grace` seconds, requeue the rest."""
        await self._subscription.cancel()
        if self._in_flight:
            log.info("finishing in-flight jobs", service=self._service, count=len(self._in_flight), grace_s=grace)
            _, unfinished = await asyncio.wait(self._in_flight, timeout=grace)
            for task in unfinished:
                task.cancel()  # the message is rejected with requeue on its way out
            await asyncio.gather(*unfinished, return_exceptions=True)
            if unfinished:
                log.warning("requeued unfinished jobs", service=self._service, count=len(unfinished))
        await self._subscription.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        IN_FLIGHT.labels(self._service).inc()
        try:
            # The ack policy in one place: leaving the block normally acks; an
            # exception (a publish that was not confirmed, or a shutdown that
            # cancelled the task) rejects with requeue, so the broker keeps it.
            async with message.process(requeue=True, ignore_processed=True):
                await self._process(message)
        except asyncio.CancelledError:
            MESSAGES.labels(self._service, "requeued").inc()
            raise
        except Exception as error:
            MESSAGES.labels(self._service, "requeued").inc()
            log.warning("requeued: outcome not recorded", service=self._service, error=redact_credentials(repr(error)))
        finally:
            IN_FLIGHT.labels(self._service).dec()
            self._in_flight.discard(task)

    async def _process(self, message: AbstractIncomingMessage) -> None:
        # Headers are checked with the body, before any work: a job whose
        # replay count or attempt could never be recorded must not run.
        try:
            event = decode_message(message, self._adapter, self._max_message_bytes)
            delivery = decode_headers(message)
        except InvalidMessage as error:
            await self._dead_letter(message, None, error, DeadLetterReason.invalid_message)
            return
        if self._screen is not None and (refusal := self._screen(event, self._broker.publisher_of(message))):
            await self._dead_letter(message, event, RefusedMessage(refusal), DeadLetterReason.invalid_message)
            return
        # Two copies of one message (a redelivery and a publisher's retry) take
        # turns, so the second finds the first one's result in the inbox.
        async with self._one_at_a_time(event.message_id):
            if await self._finished_before(message, event, delivery):
                return
            await self._run(message, event, delivery)

    async def _finished_before(self, message: AbstractIncomingMessage, event: E, delivery: DeliveryHeaders) -> bool:
        if self._inbox is None:
            return False
        earlier = await self._inbox.result_of(str(event.message_id))
        if earlier is not None:
            DUPLICATES.labels(self._service, "skipped").inc()
            log.info("duplicate skipped: finished before", **_job_fields(event, self._service))
            await self._reporter.succeeded(_job_attempt(event, delivery), earlier, started_at=None)
            return True
        if message.redelivered:
            # An earlier delivery was not acked: it may have done the work.
            DUPLICATES.labels(self._service, "possible").inc()
            log.warning("redelivered after an unfinished try", **_job_fields(event, self._service))
        return False

    async def _run(self, message: AbstractIncomingMessage, event: E, delivery: DeliveryHeaders) -> None:
        this_try = _job_attempt(event, delivery)
        start = _StartReport(lambda: self._reporter.started(this_try, start.at))

        async def report_progress(progress: Progress) -> None:
            await start.sent()  # a job that reports progress has started, and says so first
            await self._reporter.progressed(this_try, progress)

        job = JobContext(event.job_id, event.attempt, report_progress)
        started = time.perf_counter()
        attempt = self._tries.attempt(event, delivery)
        try:
            result = await self._handler(event, job)
        except PermanentError as error:
            await start.settle()
            await self._dead_letter(message, event, error, DeadLetterReason.permanent_error, attempt, start.at)
        # Not "log and ack": every other failure is routed to a retry (or, on the
        # last attempt, to the dead-letter queue), confirmed before the ack.
        except Exception as error:
            await start.settle()
            if attempt >= self._retry.max_attempts:
                await self._dead_letter(message, event, error, DeadLetterReason.retries_exhausted, attempt, start.at)
            else:
                await self._schedule_retry(message, event, this_try, attempt, error, start.at)
        else:
            outcome = _as_dict(result)
            if self._inbox is not None:
                await self._inbox.record(str(event.message_id), outcome)
            await start.settle()
            await self._reporter.succeeded(this_try, outcome, started_at=start.at)
            MESSAGES.labels(self._service, "succeeded").inc()
            log.log(
                self._reporter.log_level,
                "job succeeded",
                **_job_fields(event, self._service),
                duration_ms=_ms_since(started),
            )
        finally:
            HANDLER_SECONDS.labels(self._service).observe(time.perf_counter() - started)
            start.abandon()  # after a cancelled handler (shutdown); a no-op otherwise

    @contextlib.asynccontextmanager
    async def _one_at_a_time(self, message_id: UUID) -> AsyncIterator[None]:
        while (busy := self._busy.get(message_id)) is not None:
            await busy.wait()
        self._busy[message_id] = done = asyncio.Event()
        try:
            yield
        finally:
            del self._busy[message_id]
            done.set()

    async def _schedule_retry(
        self,
        message: AbstractIncomingMessage,
        event: E,
        this_try: JobAttempt,
        attempt: int,
        error: Exception,
        started_at: datetime,
    ) -> None:
        delay = self._delay_for(attempt, error)
        queue = self._queues.delays[delay]
        body, retry_headers = self._tries.next_try(
            message.body, event, attempt, self._passed_on(message, attempt, error)
        )
        await self._broker.publish_body(
            body,
            exchange=self._broker.topology.retry.name,
            routing_key=queue.name,
            message_id=message.message_id,
            message_type=message.type,
            headers=retry_headers,
        )
        info = _error_info(error)
        await self._reporter.retry_scheduled(this_try, info, delay, started_at=started_at)
        MESSAGES.labels(self._service, "retried").inc()
        log.warning(
            "job failed, retry scheduled",
            **_job_fields(event, self._service),
            error=info.message,
            error_type=info.type,
            retry_in_s=delay,
        )

    async def _dead_letter(
        self,
        message: AbstractIncomingMessage,
        event: E | None,
        error: Exception,
        reason: DeadLetterReason,
        attempt: int = 1,
        started_at: datetime | None = None,
    ) -> None:
        info = _error_info(error)
        carried = self._passed_on(message, attempt, error)
        failure = FailureRecord(
            reason=reason.value,
            error_type=info.type,
            error_message=info.message,
            attempts=attempt,
            routing_key=event.routing_key if event is not None else message.routing_key or "",
            service=self._service,
            failed_at=datetime.now(UTC),
            # Not `first_failed_at`: the carried header stays as it came (see _with_history).
            history=carried[headers.HISTORY],
        )
        failure_headers = {**carried, **failure.to_headers()}
        # The original body goes to the dead-letter queue untouched, so it can be
        # inspected and replayed as it was sent.
        await self._broker.publish_body(
            message.body,
            exchange=self._broker.topology.dead_letters.name,
            routing_key=self._service,
            message_id=message.message_id,
            message_type=message.type,
            content_type=message.content_type,
            headers=failure_headers,
        )
        job_id = event.job_id if event is not None else job_id_in(message.body)
        if job_id is not None:
            # Lenient: an invalid message's job still learns why it died.
            replay = delivery_headers_or_defaults(message.headers).replays
            await self._reporter.dead_lettered(JobAttempt(job_id, attempt, replay), info, reason, started_at=started_at)
        MESSAGES.labels(self._service, "invalid" if event is None else "dead_lettered").inc()
        log.error(
            "job dead-lettered",
            service=self._service,
            job_id=str(job_id) if job_id else None,
            attempt=attempt,
            reason=reason.value,
            error=info.message,
            error_type=info.type,
        )

    def _passed_on(self, message: AbstractIncomingMessage, attempt: int, error: Exception) -> dict[str, Any]:
        """Headers for a copy this consumer publishes: who published the original goes
        with it, since the copy's `user_id` is this consumer's own."""
        carried = _with_history(message, attempt, error)
        carried[headers.PUBLISHED_BY] = self._broker.publisher_of(message) or ""
        return carried

    def _delay_for(self, attempt: int, error: Exception) -> float:
        delay = self._retry.delay_after(attempt)
        wanted = getattr(error, "retry_after", None) if isinstance(error, TransientError) else None
        if wanted is not None and wanted > delay:
            # The shortest declared delay that honours the provider's Retry-After.
            longer = [d for d in self._queues.delays if d >= wanted]
            delay = min(longer) if longer else max(self._queues.delays)
        return delay


class RefusedMessage(Exception):
    """A valid message its consumer's screen refused (an untrusted publisher, say)."""


class _StartReport:
    """`job.started`, sent once a job has run for STARTED_AFTER seconds or reports progress.

    A quick job goes from queued to its outcome in one event, which carries its
    start time: one publish per job saved, where publishes are most of the cost.
    """

    def __init__(self, publish: Callable[[], Awaitable[None]]) -> None:
        self.at = utc_now()
        self._publish = publish
        self._sending: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(STARTED_AFTER, self._send)

    def _send(self) -> None:
        self._timer.cancel()
        if self._sending is None:
            self._sending = asyncio.create_task(self._publish())

    async def sent(self) -> None:
        self._send()
        assert self._sending is not None
        await asyncio.shield(self._sending)

    async def settle(self) -> None:
        """Before the outcome: drop the report if it is not due yet, else wait for its confirm."""
        self._timer.cancel()
        if self._sending is not None:
            await self._sending

    def abandon(self) -> None:
        self._timer.cancel()
        if self._sending is not None and not self._sending.done():
            self._sending.cancel()


def _error_info(error: Exception) -> ErrorInfo:
    """What the job, the dead letter and the log say about `error`: bounded, credentials redacted."""
    return ErrorInfo(type=type(error).__name__[:MAX_ERROR_TYPE], message=_error_text(error))


def _error_text(error: Exception) -> str:
    try:
        text = str(error) or repr(error)
    except Exception:  # an exception whose __str__ fails must still be reported
        text = type(error).__name__
    # Redacted before it is cut, so a cut never leaves half a password behind.
    return redact_credentials(text)[:MAX_ERROR_TEXT]


def _with_history(message: AbstractIncomingMessage, attempt: int, error: Exception) -> dict[str, Any]:
    """The message's headers plus this attempt's failure, so a dead letter shows every try."""
    carried = dict(message.headers or {})
    carried.setdefault(headers.FIRST_FAILED_AT, datetime.now(UTC).isoformat())
    info = _error_info(error)
    line = f"attempt {attempt}: {info.type}: {info.message[:HISTORY_ERROR_TEXT]}"
    history = [*delivery_headers_or_defaults(message.headers).history, line[:MAX_HISTORY_LINE]]
    carried[headers.HISTORY] = history[-MAX_HISTORY:]
    return carried


def _as_dict(result: Result) -> dict[str, Any]:
    if result is None:
        return {}
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return dict(result)


def _job_attempt(event: Envelope, delivery: DeliveryHeaders) -> JobAttempt:
    return JobAttempt(event.job_id, event.attempt, delivery.replays)


def _job_fields(event: Envelope, service: str) -> dict[str, Any]:
    return {"service": service, "job_id": str(event.job_id), "attempt": event.attempt}


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
