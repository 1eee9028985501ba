"""Listing and replaying dead letters against the real broker.

The dead letters are made for real: by the consumer runtime running a handler
that refuses, by invalid messages, and by the broker's own delivery limit.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, NamedTuple

import aio_pika
import aiormq
import pytest
from aio_pika import DeliveryMode
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from contracts import headers
from contracts.events import EmailRequested, StatusEvent
from contracts.topology import Topology
from gateway.dead_letters import DeadLetterListing, UnknownService, list_dead_letters, replay
from runtime import JobContext, PermanentError
from runtime.broker import Broker
from support.inprocess import running, service_settings
from support.watch import Watcher, publish_raw, wait_for_depth, watch_dead_letters, watch_status


class Refusing:
    """An email handler that refuses every recipient for good, until `refusing` is turned off."""

    def __init__(self) -> None:
        self.refusing = True
        self.calls: list[EmailRequested] = []

    async def __call__(self, event: EmailRequested, job: JobContext) -> dict[str, Any]:
        self.calls.append(event)
        if self.refusing:
            raise PermanentError(f"SMTP refused every recipient: {event.to[0]}: 550 5.1.1 no such user")
        return {"sent_to": event.to}


def an_email(to: str, **fields: Any) -> EmailRequested:
    return EmailRequested(to=[to], subject="Hello", text="Hi", **fields)


class Refusals(NamedTuple):
    """Ada's and Bob's emails, a handler that refuses them, and watchers of what becomes of them."""

    handler: Refusing
    ada: EmailRequested
    bob: EmailRequested
    status: Watcher[StatusEvent]
    dead: Watcher[AbstractIncomingMessage]
    dead_queue: str


@pytest.fixture
async def refusals(amqp: AbstractRobustConnection, topology: Topology) -> Refusals:
    return Refusals(
        Refusing(),
        an_email("ada@example.com"),
        an_email("bob@example.org"),
        await watch_status(amqp, topology),
        await watch_dead_letters(amqp, topology, "email"),
        topology.service("email").dead.name,
    )


async def publish_poison(connection: AbstractRobustConnection, topology: Topology) -> None:
    await publish_raw(
        connection,
        topology.events.name,
        "email.requested",
        b"not json",
        message_id="poison",
        content_type="application/json",
    )


async def test_listing_shows_dead_letters_and_leaves_them_in_place(amqp, amqp_url, topology, broker, tmp_path):
    dead = await watch_dead_letters(amqp, topology, "email")
    ada, bob = an_email("ada@example.com", attempt=1), an_email("bob@example.org")
    async with running(Refusing(), service_settings(amqp_url, topology, tmp_path)):
        await broker.publish(ada)
        await broker.publish(bob)
        await publish_poison(amqp, topology)
        await dead.wait_for_count(lambda _: True, 3)
    dead_queue = topology.service("email").dead.name
    await wait_for_depth(amqp, dead_queue, 3)

    first = await list_dead_letters(broker, "email")
    second = await list_dead_letters(broker, "email")

    assert second == first  # nothing consumed, nothing reordered
    await wait_for_depth(amqp, dead_queue, 3)
    by_id = {letter.message_id: letter for letter in first}
    refused = by_id[str(ada.message_id)]
    assert refused.job_id == ada.job_id and refused.service == "email"
    assert refused.reason == "permanent_error" and refused.error_type == "PermanentError"
    assert refused.error_message == "SMTP refused every recipient: ada@example.com: 550 5.1.1 no such user"
    assert refused.attempts == 1 and refused.routing_key == "email.requested"
    assert refused.last_failed_at is not None and refused.first_failed_at <= refused.last_failed_at
    assert refused.history == ["attempt 1: PermanentError: " + refused.error_message]
    assert EmailRequested.model_validate_json(refused.body_preview) == ada
    assert by_id[str(bob.message_id)].fingerprint == refused.fingerprint  # only the address differs
    poison = by_id["poison"]
    assert poison.reason == "invalid_message" and poison.job_id is None and poison.body_preview == "not json"
    assert poison.fingerprint != refused.fingerprint

    listing = DeadLetterListing.of(first)
    assert sorted((group.count, group.reason) for group in listing.groups) == [
        (1, "invalid_message"),
        (2, "permanent_error"),
    ]
    assert len(await list_dead_letters(broker, "email", limit=2)) == 2
    assert sorted(letter.message_id for letter in await list_dead_letters(broker, None)) == sorted(by_id)
    assert await list_dead_letters(broker, "gateway") == []
    with pytest.raises(UnknownService, match="known services: email, file, notify, analytics, gateway"):
        await list_dead_letters(broker, "fax")
    await wait_for_depth(amqp, dead_queue, 3)


async def test_replay_by_message_id_republishes_only_that_one(amqp, amqp_url, topology, broker, refusals, tmp_path):
    handler, ada, bob, status, dead, dead_queue = refusals
    async with running(handler, service_settings(amqp_url, topology, tmp_path)):
        await broker.publish(ada)
        await broker.publish(bob)
        await dead.wait_for_count(lambda _: True, 2)
        await wait_for_depth(amqp, dead_queue, 2)
        handler.refusing = False

        report = await replay(broker, "email", message_ids=[str(ada.message_id)])

        assert report.replayed == [str(ada.message_id)] and report.failed is None
        succeeded = await status.wait_for(
            lambda e: e.job_id == ada.job_id and e.type == "job.succeeded" and e.replay == 1
        )
        await wait_for_depth(amqp, dead_queue, 1)
        again = await replay(broker, "email", message_ids=[str(ada.message_id)])

    assert succeeded.attempt == 1 and succeeded.result == {"sent_to": ["ada@example.com"]}
    assert [e.type for e in status.seen if e.job_id == ada.job_id and e.replay == 1] == ["job.succeeded"]
    assert [call.attempt for call in handler.calls if call.job_id == ada.job_id] == [1, 1]
    assert [call.job_id for call in handler.calls].count(bob.job_id) == 1
    assert again.replayed == [] and again.skipped == 1 and again.failed is None
    [left] = await list_dead_letters(broker, "email")
    assert left.message_id == str(bob.message_id)


async def test_replay_by_fingerprint_and_of_everything(amqp, amqp_url, topology, broker, refusals, tmp_path):
    handler, ada, bob, status, dead, dead_queue = refusals
    async with running(handler, service_settings(amqp_url, topology, tmp_path)):
        await broker.publish(ada)
        await publish_poison(amqp, topology)
        await broker.publish(bob)
        await dead.wait_for_count(lambda _: True, 3)
        await wait_for_depth(amqp, dead_queue, 3)
        refused = {letter.fingerprint for letter in await list_dead_letters(broker, "email") if letter.job_id}
        handler.refusing = False

        [fingerprint] = refused
        by_fingerprint = await replay(broker, "email", fingerprint=fingerprint)
        for job_id in (ada.job_id, bob.job_id):
            await status.wait_for(lambda e, job_id=job_id: e.job_id == job_id and e.type == "job.succeeded")
        await wait_for_depth(amqp, dead_queue, 1)

        # Replaying everything replays the invalid message too; it is still
        # invalid, so it comes straight back, counted as replayed once.
        everything = await replay(broker, "email")
        await dead.wait_for_count(lambda m: m.message_id == "poison", 2)
        await wait_for_depth(amqp, dead_queue, 1)

    assert sorted(by_fingerprint.replayed) == sorted([str(ada.message_id), str(bob.message_id)])
    assert by_fingerprint.skipped <= 1 and by_fingerprint.failed is None
    assert everything.replayed == ["poison"] and everything.skipped == 0
    [poison] = await list_dead_letters(broker, "email")
    assert poison.message_id == "poison" and poison.reason == "invalid_message"
    assert poison.replays == 1 and poison.attempts == 1 and poison.body_preview == "not json"
    # A fresh failure record: the history of the first death was not carried over.
    assert len(poison.history) == 1


async def _delete_events_exchange(amqp: AbstractRobustConnection, topology: Topology) -> None:
    async with amqp.channel() as channel:
        await channel.exchange_delete(topology.events.name)


async def _unbind_work_queue(amqp: AbstractRobustConnection, topology: Topology) -> None:
    work = topology.service("email").work
    async with amqp.channel() as channel:
        queue = await channel.get_queue(work.name)
        await queue.unbind(topology.events.name, "email.requested")


@pytest.mark.parametrize("break_it", [_delete_events_exchange, _unbind_work_queue], ids=["no-exchange", "unroutable"])
async def test_a_replay_that_cannot_be_published_keeps_the_dead_letter(
    amqp, amqp_url, topology, broker, break_it, tmp_path
):
    dead = await watch_dead_letters(amqp, topology, "email")
    dead_queue = topology.service("email").dead.name
    event = an_email("ada@example.com")
    async with running(Refusing(), service_settings(amqp_url, topology, tmp_path)):
        await broker.publish(event)
        await dead.wait_for(lambda m: m.message_id == str(event.message_id))
    await wait_for_depth(amqp, dead_queue, 1)
    [before] = await list_dead_letters(broker, "email")
    await break_it(amqp, topology)

    report = await replay(broker, "email")

    assert report.replayed == []
    assert report.failed is not None and str(event.message_id) in report.failed
    await wait_for_depth(amqp, dead_queue, 1)
    [after] = await list_dead_letters(broker, "email")
    assert after.model_dump(exclude={"replays"}) == before.model_dump(exclude={"replays"})
    assert after.replays == 0


async def test_a_broker_dead_letter_from_the_delivery_limit(amqp, amqp_url, namespace):
    limited = Topology(namespace, delivery_limit=1)
    queues = limited.service("email")
    broker = Broker(amqp_url, limited, name="test-delivery-limit")
    await broker.connect()
    try:
        await broker.declare(queues.all())
        dead = await watch_dead_letters(amqp, limited, "email")
        event = an_email("ada@example.com", attempt=3)
        await broker.publish(event)
        # A consumer that gives the message back every time, as a crashing one would.
        async with amqp.channel() as channel, asyncio.timeout(10):
            work = await channel.declare_queue(queues.work.name, durable=True, arguments=dict(queues.work.arguments))
            deliveries = 0
            async with work.iterator() as messages:
                async for message in messages:
                    await message.nack(requeue=True)
                    deliveries += 1
                    if deliveries == 2:  # one more than x-delivery-limit: the broker gives up
                        break
        await dead.wait_for(lambda m: m.message_id == str(event.message_id))
        await wait_for_depth(amqp, queues.dead.name, 1)

        [letter] = await list_dead_letters(broker, "email")

        assert letter.reason == "delivery_limit" and letter.error_type is None
        assert letter.error_message.startswith("dead-lettered by the broker")
        assert f"delivery limit of queue {queues.work.name}" in letter.error_message
        assert letter.routing_key == "email.requested" and letter.job_id == event.job_id
        assert letter.attempts == 1 and letter.last_failed_at is not None
        await wait_for_depth(amqp, queues.dead.name, 1)

        report = await replay(broker, "email", fingerprint=letter.fingerprint)

        assert report.replayed == [str(event.message_id)]
        async with amqp.channel() as channel, asyncio.timeout(10):
            work = await channel.declare_queue(queues.work.name, durable=True, arguments=dict(queues.work.arguments))
            async with work.iterator() as messages:
                async for replayed in messages:
                    await replayed.ack()
                    break
        assert json.loads(replayed.body)["attempt"] == 1
        assert replayed.message_id == str(event.message_id) and replayed.type == "email.requested"
        assert replayed.headers[headers.REPLAYS] == 1
        assert not any(name.startswith("x-death") or name.startswith("x-first-death") for name in replayed.headers)
        await wait_for_depth(amqp, queues.dead.name, 0)
    finally:
        await broker.close()


def hostile_letters() -> list[tuple[str | None, bytes, dict[str, Any], dict[str, Any]]]:
    """(message id, body, headers, other properties) of letters no Offload service would write."""
    deep_job = an_email("deep@example.com")
    deep = deep_job.model_dump_json().encode()[:-1] + b',"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    return [
        ("not-json", b"\xff\xfe not json {[", {}, {"content_type": "application/json"}),
        ("huge", b'{"x": "' + b"a" * 2_000_000 + b'"}', {headers.REASON: "invalid_message"}, {}),
        ("deep", deep, {headers.REASON: "invalid_message", headers.ATTEMPTS: 1}, {}),
        ("only-brackets", b"[" * 100_000, {}, {}),
        ("replays-abc", b"{}", {headers.REPLAYS: "abc", headers.REASON: "permanent_error"}, {}),
        ("replays-negative", b"{}", {headers.REPLAYS: -5}, {}),
        ("replays-huge", b"{}", {headers.REPLAYS: 2**62, headers.ATTEMPTS: 2**63 - 1}, {}),
        ("replays-string-number", b"{}", {headers.REPLAYS: "100000000000000000000"}, {}),
        (
            "wrong-types",
            b"{}",
            {
                headers.REASON: 5,
                headers.ERROR_TYPE: [1, 2],
                headers.ERROR_MESSAGE: "\u00e9" * 30_000,
                headers.ATTEMPTS: "three",
                headers.HISTORY: 7,
                headers.FAILED_AT: "not a time",
                headers.FIRST_FAILED_AT: 12,
                headers.ROUTING_KEY: {"a": 1},
            },
            {},
        ),
        ("history-of-anything", b"{}", {headers.HISTORY: [1, None, {"a": [1]}, True, 2.5]}, {}),
        ("x-death-string", b"{}", {"x-death": "garbage"}, {}),
        ("x-death-numbers", b"{}", {"x-death": [1, 2]}, {}),
        ("x-death-bad-entry", b"{}", {"x-death": [{"count": "x", "routing-keys": "abc", "time": 5}]}, {}),
        ("floats", b"{}", {headers.REPLAYS: 1.5, headers.ATTEMPTS: 2.0}, {}),  # the broker refuses inf and nan
    ]


async def publish_without_properties(amqp_url: str, exchange: str, routing_key: str, body: bytes) -> None:
    """A message with no properties but the message id aiormq always adds (a letter
    without even that is read in tests/unit/gateway/test_dead_letter_reading.py)."""
    connection = await aiormq.connect(amqp_url)
    try:
        channel = await connection.channel()
        await channel.confirm_delivery()
        await channel.basic_publish(body, exchange=exchange, routing_key=routing_key)
    finally:
        await connection.close()


async def test_listing_and_replay_survive_any_letter_and_say_what_they_did(amqp, amqp_url, topology, broker):
    dead_queue = topology.service("email").dead.name
    work_queue = topology.service("email").work.name
    sent = hostile_letters()
    at_the_limit = ("replayed-enough", b"{}", {headers.REPLAYS: 10_000}, {})
    for message_id, body, table, properties in [*sent, at_the_limit]:
        await publish_raw(
            amqp, topology.dead_letters.name, "email", body, headers=table, message_id=message_id, **properties
        )
    await publish_without_properties(amqp_url, topology.dead_letters.name, "email", b'{"no": "properties"}')
    await wait_for_depth(amqp, dead_queue, len(sent) + 2)

    listed = await list_dead_letters(broker, "email")
    everything = await list_dead_letters(broker, None)

    *hostile, limited, bare = listed
    assert [letter.message_id for letter in hostile] == [message_id for message_id, *_ in sent]
    assert limited.message_id == "replayed-enough" and bare.body_preview == '{"no": "properties"}'
    assert len(everything) == len(listed)
    DeadLetterListing.of(listed).model_dump_json()
    by_id = {letter.message_id: letter for letter in listed}
    assert by_id["deep"].job_id is not None and by_id["deep"].reason == "invalid_message"
    assert by_id["replays-abc"].replays == 0 and by_id["replays-huge"].replays == 0
    assert by_id["wrong-types"].attempts is None and len(by_id["wrong-types"].error_message) <= 2000
    letters = [*hostile, bare]

    report = await replay(broker, "email")

    assert report.replayed == [letter.message_id for letter in letters]
    refused = [(item.message_id, item.why) for item in report.not_replayed]
    assert refused == [("replayed-enough", "replayed 10000 times")]
    assert report.failed is None and report.skipped == 0 and report.unexamined == 0
    await wait_for_depth(amqp, work_queue, len(letters))
    await wait_for_depth(amqp, dead_queue, 1)
    async with amqp.channel() as channel, asyncio.timeout(10):
        work = await channel.declare_queue(work_queue, passive=True)
        copies = {}
        for _ in letters:
            copy = await work.get(no_ack=True)
            copies[copy.message_id] = copy
    # Each copy counts this replay, whatever its count said before.
    assert {copy.headers[headers.REPLAYS] for copy in copies.values()} == {1}
    assert copies["deep"].body == next(body for m, body, *_ in sent if m == "deep")


LETTERS = 100


async def test_a_browse_right_after_another_sees_every_letter(amqp, topology, broker):
    # An operator lists, then replays at once: each browse must find every
    # letter the one before it handed back, though a quorum queue takes a
    # returned message back a moment after the nack.
    dead_queue = topology.service("email").dead.name
    async with amqp.channel() as channel:
        for n in range(LETTERS):
            letter = aio_pika.Message(b"not json", message_id=f"letter-{n}", delivery_mode=DeliveryMode.PERSISTENT)
            await channel.default_exchange.publish(letter, dead_queue)
    await wait_for_depth(amqp, dead_queue, LETTERS)

    for _ in range(10):
        listed = await list_dead_letters(broker, "email")
        examined = await replay(broker, "email", message_ids=["no-such-letter"])
        assert len(listed) == LETTERS
        assert examined.skipped == LETTERS and examined.unexamined == 0
