"""Replaying dead letters: each republished as a fresh first attempt, and its dead copy acked after.

A replay republishes a dead letter to the events exchange and acks the dead
copy only once the broker has confirmed the new one, so a message is never
lost on the way.

Each replay of a task is counted on its job before it is published, and the
count travels in the `x-offload-replays` header: the job store believes no
status event claiming more replays than the gateway made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from uuid import UUID

from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel

from contracts import headers as header
from contracts.bounds import MAX_REPLAYS
from contracts.events import TaskType
from contracts.failures import FAILURE_HEADERS
from contracts.topology import GATEWAY, ServiceQueues, Topology
from gateway.dead_letters.browse import BROKER_ERRORS, browsing, consumer_queues
from gateway.dead_letters.letters import DeadLetter, canonical_id
from runtime.broker import Broker, PublishError
from runtime.tries import tries_of

# Headers a replay drops: the failure, so the next failure, if any, starts a
# fresh record instead of appending to the old one. (Counts of tries are the
# business of `Tries.first_try`.)
DROPPED_BY_REPLAY = FAILURE_HEADERS
OFFLOAD_HEADER_PREFIX = "x-offload-"

# Counts one more replay of a job (by id and task type) and returns the count.
ReplayCounter = Callable[[UUID, TaskType], Awaitable[int]]


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
    queues = consumer_queues(broker.topology, service)
    wanted = {canonical_id(message_id) for message_id in message_ids} if message_ids is not None else None
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
    async with browsing(broker, queues.dead) as browse:
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
                    # Held unacked until `browsing` hands it back with the rest.
                    report.skipped += 1
                    continue
                if not await _replay_one(broker, queues, message, letter, report, count_replay):
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
    queues: ServiceQueues,
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
        await _republish(broker, queues, message, letter, count_replay)
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
    queues: ServiceQueues,
    message: AbstractIncomingMessage,
    letter: DeadLetter,
    count_replay: ReplayCounter | None,
) -> None:
    carried = {
        name: value
        for name, value in (message.headers or {}).items()
        if name.startswith(OFFLOAD_HEADER_PREFIX) and name not in DROPPED_BY_REPLAY
    }
    carried[header.REPLAYS] = await _replay_number(queues, letter, count_replay)
    if queues.service == GATEWAY:
        # A status event republished by the gateway carries the gateway's user_id;
        # the header says which service user published it (see Broker.publisher_of).
        carried[header.PUBLISHED_BY] = broker.publisher_of(message) or ""
    else:
        carried.pop(header.PUBLISHED_BY, None)
    # A fresh first try, with its full retries again, counted as its consumer counts them.
    body, carried = tries_of(queues).first_try(message.body, carried)
    await broker.publish_body(
        body,
        exchange=broker.topology.events.name,
        routing_key=_replay_routing_key(broker.topology, queues, letter),
        message_id=letter.message_id,  # the property says what the body does
        message_type=message.type,
        content_type=message.content_type,
        headers=carried,
    )


async def _replay_number(queues: ServiceQueues, letter: DeadLetter, count_replay: ReplayCounter | None) -> int:
    """Which replay of its job this is: counted by the job store, not taken from the header."""
    if count_replay is None or queues.task is None or letter.job_id is None:
        # Only a task is its job: a status event is not a replay of its job,
        # and a body without a job id is invalid and will be dead-lettered again.
        return letter.replays + 1
    return await count_replay(letter.job_id, queues.task)


def _replay_routing_key(topology: Topology, queues: ServiceQueues, letter: DeadLetter) -> str:
    # A task queue carries exactly one routing key. Taking it from the topology
    # also covers a message that went through a delay queue and then hit the
    # delivery limit: its x-death names the queue, not the original key.
    if queues.task is not None:
        return topology.routing_key(queues.task)
    return letter.routing_key or ""
