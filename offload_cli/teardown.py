"""`offload teardown --namespace NS`: delete a namespace's queues and exchanges from the broker.

The names come from contracts.topology, as every process derives them; delay
queues from the retry settings (RETRY_*) in the environment, as the processes
that declared them read them. Tests and demos leave namespaces behind; a
deployment's namespace holds its jobs, hence the confirmation.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from contracts.topology import Exchange, Queue, Topology
from offload_cli.command import fail, requires

CONNECT_TIMEOUT = 10.0


def teardown(
    namespace: Annotated[str, typer.Option(help="The namespace (OFFLOAD_NAMESPACE) to delete.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every queue (messages included) and exchange of a namespace, at AMQP_URL."""
    with requires("runtime"):
        import aio_pika
        from pydantic import ValidationError

        from runtime.settings import BrokerSettings
    try:
        settings = BrokerSettings(offload_namespace=namespace)
    except ValidationError as error:
        fail(f"invalid settings: {error.errors(include_url=False)[0]['msg']}")
    topology = Topology(namespace=namespace, delivery_limit=settings.delivery_limit)
    queues = topology.every_queue(settings.retry_policy)
    exchanges = topology.exchanges()
    print("\n".join([*(f"queue {queue.name}" for queue in queues), *(f"exchange {e.name}" for e in exchanges)]))
    if not yes:
        typer.confirm(f"Delete these {len(queues)} queues and {len(exchanges)} exchanges?", abort=True)
    try:
        asyncio.run(_delete(settings.amqp_url.get_secret_value(), queues, exchanges))
    except (aio_pika.exceptions.AMQPError, OSError, TimeoutError) as error:
        fail(f"teardown stopped: {type(error).__name__}: {error}")


async def _delete(amqp_url: str, queues: tuple[Queue, ...], exchanges: tuple[Exchange, ...]) -> None:
    import aio_pika

    async with asyncio.timeout(CONNECT_TIMEOUT):
        connection = await aio_pika.connect(amqp_url)
    async with connection, connection.channel() as channel:
        # RabbitMQ answers delete-ok for a queue or exchange that is not there.
        for queue in queues:
            deleted = await channel.queue_delete(queue.name)
            print(f"deleted queue {queue.name} ({deleted.message_count} message(s))")
        for exchange in exchanges:
            await channel.exchange_delete(exchange.name)
            print(f"deleted exchange {exchange.name}")
