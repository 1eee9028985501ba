"""`python -m gateway dlq ...`: list and replay dead letters from a terminal.

Reads the gateway's settings (AMQP_URL, OFFLOAD_NAMESPACE, ...) and talks to
the broker directly, so it works whether or not a gateway is running. A replay
also counts itself on the job, in the gateway's job store (DATABASE_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from uuid import UUID

from pydantic import ValidationError

from contracts.events import TaskType
from gateway.database import gateway_database
from gateway.dead_letters import (
    BROKER_ERRORS,
    SERVICES,
    BrokerUnavailable,
    DeadLetter,
    DeadLetterListing,
    ReplayReport,
    UnknownService,
    list_dead_letters,
    replay,
)
from gateway.settings import GatewaySettings
from gateway.store import JobStore
from runtime.broker import Broker
from runtime.logs import configure_logging

CONNECT_TIMEOUT = 10.0
MESSAGE_WIDTH = 60


class CommandFailed(Exception):
    """An expected failure: reported as one line, exit code 1."""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m gateway dlq", description="Inspect and replay dead letters.")
    commands = root.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="show dead letters, one line each")
    listing.add_argument("--service", choices=SERVICES, help="only this service's dead letters")
    listing.add_argument("--limit", type=int, default=1000, help="show at most this many (default 1000)")
    listing.add_argument("--json", action="store_true", help="print JSON, as GET /v1/dead-letters does")

    replaying = commands.add_parser("replay", help="republish dead letters as fresh first attempts")
    replaying.add_argument("service", choices=SERVICES)
    which = replaying.add_mutually_exclusive_group(required=True)
    which.add_argument("--fingerprint", help="replay the dead letters of this failure group")
    which.add_argument("--message-id", dest="message_ids", action="append", metavar="ID", help="repeatable")
    which.add_argument("--all", action="store_true", help="replay every dead letter of the service")
    replaying.add_argument("--limit", type=int, help="replay at most this many")
    return root


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    try:
        settings = GatewaySettings()
        configure_logging("WARNING", settings.log_format)
        # The CLI reports broker failures itself, in one line.
        for library in ("aiormq", "aio_pika"):
            logging.getLogger(library).setLevel(logging.CRITICAL)
        return asyncio.run(_run(args, settings))
    except ValidationError as error:
        return _fail(f"invalid settings: {error.errors(include_url=False)[0]['msg']}")
    except (CommandFailed, UnknownService, BrokerUnavailable) as error:
        return _fail(str(error))


async def _run(args: argparse.Namespace, settings: GatewaySettings) -> int:
    broker = await _connect(settings)
    try:
        if args.command == "list":
            letters = await list_dead_letters(broker, args.service, args.limit)
            print(DeadLetterListing.of(letters).model_dump_json(indent=2) if args.json else _table(letters))
            return 0
        report = await _replay(broker, args, settings)
        for message_id in report.replayed:
            print(f"replayed {message_id or '(no message id)'}")
        for refused in report.not_replayed:
            print(f"not replayed {refused.message_id or '(no message id)'}: {refused.why}")
        print(f"{len(report.replayed)} replayed, {report.skipped} not selected and left in the queue")
        if report.failed:
            raise CommandFailed(f"replay stopped ({report.unexamined} not looked at): {report.failed}")
        return 0
    finally:
        await broker.close()


async def _replay(broker: Broker, args: argparse.Namespace, settings: GatewaySettings) -> ReplayReport:
    # Opened on the first replay only: nothing to replay needs no job store.
    database = gateway_database(settings.database_url)
    opened = False

    async def count_replay(job_id: UUID, task_type: TaskType) -> int:
        nonlocal opened
        if not opened:
            await database.open()
            opened = True
        return await JobStore(database).record_replay(job_id, task_type)

    try:
        return await replay(
            broker,
            args.service,
            message_ids=args.message_ids,
            fingerprint=args.fingerprint,
            limit=args.limit,
            count_replay=count_replay,
        )
    finally:
        if opened:
            await database.close()


async def _connect(settings: GatewaySettings) -> Broker:
    broker = Broker.from_settings(settings, "offload-dlq-cli")
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await broker.connect()
            # As the gateway does, so a replay finds the exchanges and queues it needs.
            await broker.declare(settings.topology.every_queue())
    except BROKER_ERRORS as error:
        await broker.close()
        raise CommandFailed(f"cannot reach the broker: {type(error).__name__}: {error}") from error
    return broker


def _table(letters: Sequence[DeadLetter]) -> str:
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


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1
