"""Turning an AMQP delivery into a contract message, or saying precisely why not."""

from __future__ import annotations

import json
from typing import TypeVar
from uuid import UUID

from aio_pika.abc import AbstractIncomingMessage
from pydantic import TypeAdapter, ValidationError

from contracts.events import FROM_THE_WIRE
from contracts.headers import CONTENT_TYPE

E = TypeVar("E")


class InvalidMessage(Exception):
    """The delivery can never become a valid event: dead-letter it, don't retry it."""


def decode_message(message: AbstractIncomingMessage, adapter: TypeAdapter[E], max_bytes: int) -> E:
    size = len(message.body)
    if size > max_bytes:
        raise InvalidMessage(f"body of {size} bytes exceeds the limit of {max_bytes} bytes")
    media_type = (message.content_type or "").split(";")[0].strip().lower()
    if media_type != CONTENT_TYPE:
        raise InvalidMessage(f"content type {message.content_type!r} is not {CONTENT_TYPE!r}")
    try:
        return adapter.validate_json(message.body, context=FROM_THE_WIRE)
    except ValidationError as error:
        raise InvalidMessage(describe_validation_error(error)) from error


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, each naming the field it is about."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "message"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def job_id_in(body: bytes) -> UUID | None:
    """The job id of an invalid message, if it names one, so its job can show the failure."""
    try:
        return UUID(json.loads(body)["job_id"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
