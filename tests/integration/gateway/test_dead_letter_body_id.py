"""A dead letter published without the AMQP `message_id` is listed and replayed by its body's id."""

from __future__ import annotations

import asyncio
from typing import Any

import aiormq

from contracts.events import EmailRequested
from gateway.dead_letters import list_dead_letters, replay
from runtime import JobContext, PermanentError
from support.inprocess import running, service_settings
from support.watch import wait_for_depth, watch_dead_letters


async def refusing(event: EmailRequested, job: JobContext) -> dict[str, Any]:
    raise PermanentError("550 no such user")


async def publish_without_message_id(amqp_url: str, exchange: str, event: EmailRequested) -> None:
    """The event as a client that leaves out the `message_id` property publishes it."""
    connection = await aiormq.connect(amqp_url)
    try:
        channel = await connection.channel()
        await channel.confirm_delivery()
        properties = aiormq.spec.Basic.Properties(content_type="application/json", delivery_mode=2)
        await channel.basic_publish(
            event.model_dump_json().encode(), exchange=exchange, routing_key=event.type, properties=properties
        )
    finally:
        await connection.close()


async def test_a_letter_without_the_property_is_listed_and_replayed_by_its_body_id(
    amqp, amqp_url, topology, broker, tmp_path
):
    event = EmailRequested(to=["ada@example.com"], subject="Hello", text="Hi")
    body_id = str(event.message_id)
    dead = await watch_dead_letters(amqp, topology, "email")
    async with running(refusing, service_settings(amqp_url, topology, tmp_path)):
        await publish_without_message_id(amqp_url, topology.events.name, event)
        await dead.wait_for_count(lambda _: True, 1)
    await wait_for_depth(amqp, topology.service("email").dead.name, 1)

    [letter] = await list_dead_letters(broker, "email")
    report = await replay(broker, "email", message_ids=[body_id])

    assert letter.message_id == body_id
    assert report.replayed == [body_id] and report.failed is None
    async with amqp.channel() as channel, asyncio.timeout(10):
        work = await channel.declare_queue(topology.service("email").work.name, passive=True)
        await wait_for_depth(amqp, work.name, 1)
        copy = await work.get(no_ack=True)
    assert copy.message_id == body_id  # the replayed copy carries the identity as its property too
