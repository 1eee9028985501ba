"""`offload dlq list|replay`: dead letters from a terminal.

Reads the gateway's settings (AMQP_URL, OFFLOAD_NAMESPACE, ...) and talks to
the broker directly, so it works whether or not a gateway is running. A replay
also counts itself on the job, in the gateway's job store (DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, TypeVar
from uuid import UUID

import typer

from contracts.events import TaskType
from contracts.topology import GATEWAY, SERVICE_TASKS
from offload_cli.command import fail, group, requires

if TYPE_CHECKING:
    from gateway.dead_letters import DeadLetter, ReplayReport
    from gateway.settings import GatewaySettings
    from runtime.broker import Broker

CONNECT_TIMEOUT = 10.0
MESSAGE_WIDTH = 60

# Whose dead letters: every service's, and the gateway's (status events it could not fold).
Owner = StrEnum("Owner", [*SERVICE_TASKS, GATEWAY])
T = TypeVar("T")

app = group("Inspect and replay dead letters, straight from the broker.")


@app.command("list")
def list_letters(
    service: Annotated[Owner | None, typer.Option(help="Only this service's dead letters.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, as GET /v1/dead-letters does.")] = False,
) -> None:
    """Show dead letters, one line each, with their failure groups."""
    with requires("gateway"):
        from gateway.dead_letters import DeadLetterListing, list_dead_letters

    async def listing(broker: Broker, _: GatewaySettings) -> str:
        letters = await list_dead_letters(broker, service.value if service else None, limit)
        return DeadLetterListing.of(letters).model_dump_json(indent=2) if as_json else table(letters)

    print(_with_broker(listing))


@app.command()
def replay(
    context: typer.Context,
    service: Annotated[Owner, typer.Argument(metavar="SERVICE", help="Whose dead letters to replay.")],
    fingerprint: Annotated[str | None, typer.Option(help="Replay the dead letters of this failure group.")] = None,
    message_ids: Annotated[
        list[str] | None, typer.Option("--message-id", metavar="ID", help="Replay this dead letter; repeatable.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Replay every dead letter of the service.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Replay at most this many.")] = None,
) -> None:
    """Republish dead letters as fresh first attempts; each dead copy goes once the broker confirmed its replay."""
    chosen = [bool(fingerprint), bool(message_ids), every]
    if sum(chosen) != 1:
        # Replaying everything must be asked for: no choice is not "all".
        context.fail("one of the arguments --fingerprint --message-id --all is required, and only one")
    with requires("gateway"):
        from gateway.dead_letters import replay as replay_letters

    async def replaying(broker: Broker, settings: GatewaySettings) -> ReplayReport:
        async with _replay_counter(settings) as count_replay:
            return await replay_letters(
                broker,
                service.value,
                message_ids=message_ids or None,
                fingerprint=fingerprint,
                limit=limit,
                count_replay=count_replay,
            )

    report = _with_broker(replaying)
    for message_id in report.replayed:
        print(f"replayed {message_id or '(no message id)'}")
    for refused in report.not_replayed:
        print(f"not replayed {refused.message_id or '(no message id)'}: {refused.why}")
    print(f"{len(report.replayed)} replayed, {report.skipped} not selected and left in the queue")
    if report.failed:
        fail(f"replay stopped ({report.unexamined} not looked at): {report.failed}")


def _with_broker(work: Callable[[Broker, GatewaySettings], Awaitable[T]]) -> T:
    """Run `work` on a broker connection made from the gateway's settings; expected failures end the command."""
    from pydantic import ValidationError

    from gateway.dead_letters import BrokerUnavailable, UnknownService
    from gateway.settings import GatewaySettings
    from runtime.logs import configure_logging

    try:
        settings = GatewaySettings()
    except ValidationError as error:
        fail(f"invalid settings: {error.errors(include_url=False)[0]['msg']}")
    configure_logging("WARNING", settings.log_format)
    # The command reports broker failures itself, in one line.
    for library in ("aiormq", "aio_pika"):
        logging.getLogger(library).setLevel(logging.CRITICAL)

    async def connected() -> T:
        broker = await _connect(settings)
        try:
            return await work(broker, settings)
        finally:
            await broker.close()

    try:
        return asyncio.run(connected())
    except (UnknownService, BrokerUnavailable) as error:
        fail(str(error))


async def _connect(settings: GatewaySettings) -> Broker:
    from gateway.dead_letters import BROKER_ERRORS
    from runtime.broker import Broker

    broker = Broker.from_settings(settings, "offload-dlq-cli")
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await broker.connect()
            # As the gateway does, so a replay finds the exchanges and queues it needs.
            await broker.declare(settings.topology.every_queue())
    except BROKER_ERRORS as error:
        await broker.close()
        fail(f"cannot reach the broker: {type(error).__name__}: {error}")
    return broker


@asynccontextmanager
async def _replay_counter(settings: GatewaySettings) -> AsyncIterator[Callable[[UUID, TaskType], Awaitable[int]]]:
    """Counts each replay on its job; the job store is opened on the first replay only."""
    from gateway.database import gateway_database
    from gateway.store import JobStore

    database = gateway_database(settings.database_url)
    opened = False

    async def count_replay(job_id: UUID, task_type: TaskType) -> int:
        nonlocal opened
        if not opened:
            await database.open()
            opened = True
        return await JobStore(database).record_replay(job_id, task_type)

    try:
        yield count_replay
    finally:
        if opened:
            await database.close()


def table(letters: Sequence[DeadLetter]) -> str:
    """One line per dead letter, columns aligned, the (long) error message last."""
    if not letters:
        return "no dead letters"
    header = ("SERVICE", "MESSAGE ID", "REASON", "ERROR TYPE", "ATTEMPTS", "LAST FAILURE", "FINGERPRINT", "MESSAGE")
    rows = [header] + [
        (
            letter.service,
            letter.message_id or "-",
            letter.reason,
            letter.error_type or "-",
            str(letter.attempts) if letter.attempts is not None else "-",
            letter.last_failed_at.strftime("%Y-%m-%d %H:%M:%S") if letter.last_failed_at else "-",
            letter.fingerprint,
            _shorten(letter.error_message or "-"),
        )
        for letter in letters
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    lines = [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]) for row in rows
    ]
    groups = len({letter.fingerprint for letter in letters})
    return "\n".join([*lines, f"{len(letters)} dead letter(s) in {groups} failure group(s)"])


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_WIDTH else text[: MESSAGE_WIDTH - 1] + "…"
