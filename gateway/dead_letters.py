"""Dead letters an operator can work with: list them, group them, replay them.

A dead-letter queue is browsed by taking its messages without acking them and
handing them all back. A replay republishes a dead letter to the events
exchange as a fresh first attempt and acks the dead copy only once the broker
has confirmed the new one, so a message is never lost on the way.

Each replay of a task is counted on its job before it is published, and the
count travels in the `x-offload-replays` header: the job store believes no
status event claiming more replays than the gateway made.

A dead letter can be anything a client managed to publish: any body, any
headers of any type, no properties at all. Reading one never fails; what
cannot be read is shown as missing, and texts are cut to a bounded length.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import reprlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustChannel
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError
from pydantic import BaseModel

from contracts import headers as header
from contracts.bounds import MAX_ERROR_TEXT, MAX_HISTORY, MAX_HISTORY_LINE, MAX_INT64, MAX_REPLAYS
from contracts.events import TaskType
from contracts.headers import delivery_headers_or_defaults
from contracts.topology import GATEWAY, SERVICE_TASKS, Queue, Topology
from runtime.broker import Broker, PublishError
from runtime.decode import job_id_in, parse_json

log = logging.getLogger("offload.dead_letters")

SERVICES: tuple[str, ...] = (*SERVICE_TASKS, GATEWAY)

PREVIEW_CHARS = 500
# Longest text shown from any one header (a header can hold ~128 KiB).
HEADER_CHARS = MAX_ERROR_TEXT

# What the broker (or its connection) raises when it cannot do what was asked.
BROKER_ERRORS = (AMQPError, ConnectionError, ChannelInvalidStateError, TimeoutError)

# Headers that describe a failure. A replay drops them, so the next failure, if
# any, starts a fresh record instead of appending to the old one.
FAILURE_HEADERS = frozenset(
    {
        header.REASON,
        header.ERROR_TYPE,
        header.ERROR_MESSAGE,
        header.ATTEMPTS,
        header.ROUTING_KEY,
        header.SERVICE,
        header.FAILED_AT,
        header.HISTORY,
        header.FIRST_FAILED_AT,
        header.ATTEMPT,
    }
)
OFFLOAD_HEADER_PREFIX = "x-offload-"

# Counts one more replay of a job (by id and task type) and returns the count.
ReplayCounter = Callable[[UUID, TaskType], Awaitable[int]]


class UnknownService(LookupError):
    def __init__(self, service: str) -> None:
        super().__init__(f"unknown service {service!r}; known services: {', '.join(SERVICES)}")
        self.service = service

    def __str__(self) -> str:  # LookupError would show the message in quotes
        return str(self.args[0])


class BrokerUnavailable(Exception):
    """The broker could not be reached, or dropped the connection mid-way."""


class DeadLetter(BaseModel):
    """One message in a dead-letter queue, and why it is there."""

    service: str
    message_id: str | None
    job_id: UUID | None
    routing_key: str | None
    reason: str
    error_type: str | None
    error_message: str | None
    attempts: int | None
    first_failed_at: datetime | None
    last_failed_at: datetime | None
    fingerprint: str
    history: list[str]
    replays: int
    body_preview: str

    @classmethod
    def from_message(cls, service: str, message: AbstractIncomingMessage) -> DeadLetter:
        try:
            return cls.from_parts(
                service, body=message.body, headers=message.headers or {}, message_id=message.message_id
            )
        except Exception:  # a reader's bug must not hide the whole queue, nor block a replay of it
            log.exception("dead letter %s of %s could not be read", message.message_id, service)
            return cls.unreadable(service, message.body, message.message_id)

    @classmethod
    def unreadable(cls, service: str, body: bytes, message_id: str | None) -> DeadLetter:
        return cls(
            service=service,
            message_id=identity(body, message_id),
            job_id=None,
            routing_key=None,
            reason="unreadable",
            error_type=None,
            error_message="this dead letter's headers could not be read",
            attempts=None,
            first_failed_at=None,
            last_failed_at=None,
            fingerprint=fingerprint(service, "unreadable", None, None),
            history=[],
            replays=0,
            body_preview=_preview(body),
        )

    @classmethod
    def from_parts(cls, service: str, *, body: bytes, headers: Mapping[str, Any], message_id: str | None) -> DeadLetter:
        """Read the failure from Offload's headers, or else from the broker's `x-death`."""
        if _text(headers.get(header.REASON)):
            failure = _our_failure(headers)
        else:
            failure = _broker_failure(headers)
        return cls(
            service=service,
            message_id=identity(body, message_id),
            job_id=job_id_in(body),
            fingerprint=fingerprint(service, failure["reason"], failure["error_type"], failure["error_message"]),
            history=_history(headers.get(header.HISTORY)),
            # The typed reader, leniently: a bad count is shown (and replayed) as none.
            replays=delivery_headers_or_defaults(headers).replays,
            body_preview=_preview(body),
            **failure,
        )


def identity(body: bytes, property_id: str | None) -> str | None:
    """A message's id: its body's `message_id`, by which services recognise a repeat.

    The AMQP `message_id` property only stands in for a body without one: a
    publisher may leave the property out, and the client library that passes
    the message on then makes one up.
    """
    try:
        data = parse_json(body)
    except ValueError:
        return property_id
    body_id = data.get("message_id") if isinstance(data, dict) else None
    return _canonical(body_id) if isinstance(body_id, str) else property_id


def _canonical(message_id: str) -> str:
    """A UUID in the form services record it (lowercase, with dashes); anything else as it is."""
    try:
        return str(UUID(message_id))
    except ValueError:
        return message_id


def _preview(body: bytes) -> str:
    return body[: PREVIEW_CHARS * 4].decode(errors="replace")[:PREVIEW_CHARS]


def _history(value: Any) -> list[str]:
    lines = value if isinstance(value, list | tuple) else [] if value is None else [value]
    return [_text(line, MAX_HISTORY_LINE) or "" for line in lines[-MAX_HISTORY:]]


def _our_failure(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "routing_key": _text(values.get(header.ROUTING_KEY)) or None,
        "reason": _text(values[header.REASON], 64) or "unknown",
        "error_type": _text(values.get(header.ERROR_TYPE)),
        "error_message": _text(values.get(header.ERROR_MESSAGE)),
        "attempts": _int(values.get(header.ATTEMPTS)),
        "first_failed_at": _time(values.get(header.FIRST_FAILED_AT)) or _time(values.get(header.FAILED_AT)),
        "last_failed_at": _time(values.get(header.FAILED_AT)),
    }


def _broker_failure(values: Mapping[str, Any]) -> dict[str, Any]:
    # The broker puts its most recent dead-lettering first.
    deaths = values.get("x-death")
    death = deaths[0] if isinstance(deaths, list | tuple) and deaths else None
    if not isinstance(death, Mapping):
        return {
            "routing_key": None,
            "reason": "unknown",
            "error_type": None,
            "error_message": None,
            "attempts": None,
            "first_failed_at": _time(values.get(header.FIRST_FAILED_AT)),
            "last_failed_at": None,
        }
    reason = _text(death.get("reason"), 64) or "unknown"
    queue = _text(death.get("queue"), 255) or "?"
    if reason == "delivery_limit":
        message = (
            f"dead-lettered by the broker: the delivery limit of queue {queue} was reached "
            "(its consumer crashed or requeued it on every delivery)"
        )
    else:
        message = f"dead-lettered by the broker ({reason}) from queue {queue}"
    routing_keys = death.get("routing-keys")
    first_key = routing_keys[0] if isinstance(routing_keys, list | tuple) and routing_keys else None
    died_at = _time(death.get("time"))
    return {
        "routing_key": _text(first_key, 255),
        "reason": reason,
        "error_type": None,
        "error_message": message,
        "attempts": _int(death.get("count")),
        "first_failed_at": _time(values.get(header.FIRST_FAILED_AT)) or died_at,
        "last_failed_at": died_at,
    }


# What varies between occurrences of the same failure, most specific first.
_VOLATILE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*"), "<email>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<uuid>"),
    (re.compile(r"(?<!\w)'[^']*'(?!\w)|(?<!\w)\"[^\"]*\"(?!\w)"), "<value>"),
    # Hex ids: 0x..., or 8+ hex digits with at least one digit and one letter.
    (re.compile(r"\b(?:0x[0-9a-f]+|(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,})\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"\d+(?:[.,]\d+)*"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def normalise(message: str) -> str:
    """The error message with addresses, ids, numbers and quoted values taken out."""
    for pattern, placeholder in _VOLATILE:
        message = pattern.sub(placeholder, message)
    return message.strip()


def fingerprint(service: str, reason: str, error_type: str | None, error_message: str | None) -> str:
    """A short stable hash that is equal for failures of the same kind."""
    key = "\x1f".join((service, reason, error_type or "", normalise(error_message or "")))
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class FailureGroup(BaseModel):
    fingerprint: str
    service: str
    count: int
    reason: str
    error_type: str | None
    example_message: str | None


class DeadLetterListing(BaseModel):
    dead_letters: list[DeadLetter]
    count: int
    groups: list[FailureGroup]

    @classmethod
    def of(cls, letters: Sequence[DeadLetter]) -> DeadLetterListing:
        groups: dict[str, FailureGroup] = {}
        for letter in letters:
            group = groups.get(letter.fingerprint)
            if group is None:
                groups[letter.fingerprint] = FailureGroup(
                    fingerprint=letter.fingerprint,
                    service=letter.service,
                    count=1,
                    reason=letter.reason,
                    error_type=letter.error_type,
                    example_message=letter.error_message,
                )
            else:
                group.count += 1
        largest_first = sorted(groups.values(), key=lambda group: -group.count)
        return cls(dead_letters=list(letters), count=len(letters), groups=largest_first)


class NotReplayed(BaseModel):
    message_id: str | None
    why: str


class ReplayReport(BaseModel):
    replayed: list[str | None] = []
    """Message ids republished, in order (None: a letter without one); their dead copies are gone."""
    skipped: int = 0
    """Dead letters looked at but not selected; they stay in the queue."""
    not_replayed: list[NotReplayed] = []
    """Dead letters selected but not republished, and why; they stay in the queue."""
    failed: str | None = None
    """Why the replay stopped early; the message it was on stays in the queue."""
    unexamined: int = 0
    """Dead letters not looked at because the replay stopped early; they stay in the queue."""


def dead_letter_queue(topology: Topology, service: str) -> Queue:
    if service == GATEWAY:
        return topology.gateway().dead
    if service not in SERVICE_TASKS:
        raise UnknownService(service)
    return topology.service(service).dead


async def list_dead_letters(broker: Broker, service: str | None, limit: int = 1000) -> list[DeadLetter]:
    """Up to `limit` dead letters of `service` (of every service when None), oldest first.

    Every message stays in its queue. While a listing runs, the messages it
    holds are invisible to a concurrent replay.
    """
    services = list(SERVICES) if service is None else [service]
    queues = {name: dead_letter_queue(broker.topology, name) for name in services}
    letters: list[DeadLetter] = []
    for name, spec in queues.items():
        if len(letters) >= limit:
            break
        async with _browsing(broker, spec) as browse:
            while len(letters) < limit:
                # Taken unacked and never acked: `_browsing` hands it back.
                message = await browse.take()
                if message is None:
                    break
                letters.append(DeadLetter.from_message(name, message))
    return letters


async def replay(
    broker: Broker,
    service: str,
    *,
    message_ids: Iterable[str] | None = None,
    fingerprint: str | None = None,
    limit: int | None = None,
    count_replay: ReplayCounter | None = None,
) -> ReplayReport:
    """Republish the selected dead letters of `service` (all when nothing is selected).

    `count_replay` records each replay on its job (the gateway's JobStore); without
    it, the count in the dead letter's header goes on, which the store will not
    believe: only for tests of the queues themselves.
    """
    spec = dead_letter_queue(broker.topology, service)
    wanted = {_canonical(message_id) for message_id in message_ids} if message_ids is not None else None
    report = ReplayReport()

    def selected(letter: DeadLetter) -> bool:
        if wanted is not None:
            return letter.message_id in wanted
        return fingerprint is None or letter.fingerprint == fingerprint

    def done() -> bool:
        if limit is not None and len(report.replayed) >= limit:
            return True
        return wanted is not None and wanted <= set(report.replayed)

    # Letters replayed in this run: one that fails again comes back behind the
    # others, and is left for the next run rather than replayed twice.
    replayed_here: set[str] = set()
    examined = 0
    async with _browsing(broker, spec) as browse:
        # Until nothing is left to take, not for the depth the queue reported:
        # right after another browse, a quorum queue counts the messages it was
        # handed back a moment late, and a count would leave some unexamined.
        while not done():
            try:
                message = await browse.take()
                if message is None:
                    break
                letter = DeadLetter.from_message(service, message)
                identity = letter.message_id or hashlib.sha256(message.body).hexdigest()
                if identity in replayed_here:
                    continue  # held unacked, handed back with the rest
                examined += 1
                if not selected(letter):
                    # Held unacked until `_browsing` hands it back with the rest.
                    report.skipped += 1
                    continue
                if not await _replay_one(broker, service, message, letter, report, count_replay):
                    report.unexamined = max(browse.depth - examined, 0)
                    break
                replayed_here.add(identity)
            except BROKER_ERRORS as error:
                # Whatever was taken but not acked returns to the queue with the channel.
                report.failed = f"lost the broker mid-replay: {type(error).__name__}: {error}"
                report.unexamined = max(browse.depth - examined, 0)
                break
    return report


async def _replay_one(
    broker: Broker,
    service: str,
    message: AbstractIncomingMessage,
    letter: DeadLetter,
    report: ReplayReport,
    count_replay: ReplayCounter | None,
) -> bool:
    """Replay one selected letter and say so in `report`; False when the replay must stop."""
    if letter.replays >= MAX_REPLAYS:
        # Its copy would be refused for its replay count: it stays here, held like a skipped one.
        report.not_replayed.append(NotReplayed(message_id=letter.message_id, why=f"replayed {MAX_REPLAYS} times"))
        return True
    # The ordering rule that keeps replay lossless: the new copy is
    # confirmed by the broker BEFORE the dead copy is acked. A crash in
    # between leaves both (never neither); the copy keeps the message
    # id, so the service's inbox skips it if the other one succeeded.
    try:
        await _republish(broker, service, message, letter, count_replay)
    except PublishError as error:
        report.not_replayed.append(NotReplayed(message_id=letter.message_id, why=str(error)))
        report.failed = f"could not republish {letter.message_id}: {error}"
        await message.nack(requeue=True)
        return False
    report.replayed.append(letter.message_id)
    try:
        await message.ack()
    except BROKER_ERRORS as error:
        report.failed = (
            f"republished {letter.message_id} but lost the broker before removing its dead copy, "
            f"which stays in the queue: {type(error).__name__}: {error}"
        )
        return False
    return True


async def _republish(
    broker: Broker,
    service: str,
    message: AbstractIncomingMessage,
    letter: DeadLetter,
    count_replay: ReplayCounter | None,
) -> None:
    carried = {
        name: value
        for name, value in (message.headers or {}).items()
        if name.startswith(OFFLOAD_HEADER_PREFIX) and name not in FAILURE_HEADERS
    }
    carried[header.REPLAYS] = await _replay_number(service, letter, count_replay)
    if service == GATEWAY:
        # A status event republished by the gateway carries the gateway's user_id;
        # the header says which service user published it (see Broker.publisher_of).
        carried[header.PUBLISHED_BY] = broker.publisher_of(message) or ""
    else:
        carried.pop(header.PUBLISHED_BY, None)
    await broker.publish_body(
        _as_first_attempt(message.body) if service != GATEWAY else message.body,
        exchange=broker.topology.events.name,
        routing_key=_replay_routing_key(broker.topology, service, letter),
        message_id=letter.message_id,  # the property says what the body does
        message_type=message.type,
        content_type=message.content_type,
        headers=carried,
    )


async def _replay_number(service: str, letter: DeadLetter, count_replay: ReplayCounter | None) -> int:
    """Which replay of its job this is: counted by the job store, not taken from the header."""
    if count_replay is None or service == GATEWAY or letter.job_id is None:
        # A status event is not a replay of its job; a body without a job id
        # is invalid and will be dead-lettered again.
        return letter.replays + 1
    return await count_replay(letter.job_id, SERVICE_TASKS[service])


def _replay_routing_key(topology: Topology, service: str, letter: DeadLetter) -> str:
    # A task service has exactly one routing key. Taking it from the topology
    # also covers a message that went through a delay queue and then hit the
    # delivery limit: its x-death names the queue, not the original key.
    if service in SERVICE_TASKS:
        return topology.routing_key(SERVICE_TASKS[service])
    return letter.routing_key or ""


def _as_first_attempt(body: bytes) -> bytes:
    """The body with `attempt` reset to 1, so the job gets its full retries again.

    Not for the gateway's status events, whose `attempt` is a fact about the
    job rather than a delivery count. A body that is not a JSON object with an
    `attempt` (or nests too deeply to read) goes out untouched, and if invalid
    it will be dead-lettered again.
    """
    try:
        data = parse_json(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or "attempt" not in data:
        return body
    data["attempt"] = 1
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class _Browse:
    """Messages taken from a queue without acking them; `hand_back()` returns the unsettled ones."""

    def __init__(self, channel: AbstractRobustChannel, queue: AbstractQueue) -> None:
        self.depth = queue.declaration_result.message_count or 0
        self._channel = channel
        self._queue = queue
        self._held: list[AbstractIncomingMessage] = []

    async def take(self) -> AbstractIncomingMessage | None:
        message = await self._queue.get(no_ack=False, fail=False)
        if message is not None:
            self._held.append(message)
        return message

    async def hand_back(self) -> None:
        # Nacked one by one in the order taken, so the queue keeps its order (a
        # closed channel returns them too, but shuffled). If a nack fails, the
        # channel is broken and the broker returns every unacked message itself.
        with contextlib.suppress(*BROKER_ERRORS):
            for message in self._held:
                if not message.processed:
                    await message.nack(requeue=True)
        with contextlib.suppress(*BROKER_ERRORS):
            await self._channel.close()


@contextlib.asynccontextmanager
async def _browsing(broker: Broker, spec: Queue) -> AsyncIterator[_Browse]:
    """Take messages from `spec`; on exit every message not acked goes back to the queue."""
    try:
        channel: AbstractRobustChannel = await broker.channel(prefetch=1)  # basic.get ignores prefetch
        queue = await channel.declare_queue(spec.name, durable=True, arguments=dict(spec.arguments))
    except BROKER_ERRORS as error:
        raise BrokerUnavailable(f"cannot open {spec.name}: {type(error).__name__}: {error}") from error
    browse = _Browse(channel, queue)
    try:
        yield browse
    except BROKER_ERRORS as error:
        raise BrokerUnavailable(f"lost the broker while reading {spec.name}: {error}") from error
    finally:
        await browse.hand_back()


def _text(value: Any, limit: int = HEADER_CHARS) -> str | None:
    """A header as text, whatever its type, cut to `limit` characters."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value[: limit * 4]).decode(errors="replace")[:limit]
    if isinstance(value, str):
        return value[:limit]
    return reprlib.repr(value)[:limit]


def _int(value: Any) -> int | None:
    """A count from a header: an integer within the job store's range, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if -MAX_INT64 <= value <= MAX_INT64 else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif value is None:
        return None
    else:
        try:
            moment = datetime.fromisoformat(_text(value) or "")
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
