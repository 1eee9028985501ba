"""A dead letter as an operator sees it, read from any message in a dead-letter queue.

A dead letter can be anything a client managed to publish: any body, any
headers of any type, no properties at all. Reading one never fails; what
cannot be read is shown as missing, and texts are cut to a bounded length.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel

from contracts.failures import FailureRecord
from contracts.headers import delivery_headers_or_defaults
from gateway.dead_letters.fingerprints import fingerprint
from runtime.decode import job_id_in, parse_json

log = logging.getLogger("offload.dead_letters")

PREVIEW_CHARS = 500


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
        failure = FailureRecord.from_headers(headers)
        return cls(
            service=service,
            message_id=identity(body, message_id),
            job_id=job_id_in(body),
            routing_key=failure.routing_key or None,
            reason=failure.reason,
            error_type=failure.error_type,
            error_message=failure.error_message,
            attempts=failure.attempts,
            # A letter without the first failure's time failed first when it failed last.
            first_failed_at=failure.first_failed_at or failure.failed_at,
            last_failed_at=failure.failed_at,
            fingerprint=fingerprint(service, failure.reason, failure.error_type, failure.error_message),
            history=failure.history,
            # The typed reader, leniently: a bad count is shown (and replayed) as none.
            replays=delivery_headers_or_defaults(headers).replays,
            body_preview=_preview(body),
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
    return canonical_id(body_id) if isinstance(body_id, str) else property_id


def canonical_id(message_id: str) -> str:
    """A UUID in the form services record it (lowercase, with dashes); anything else as it is."""
    try:
        return str(UUID(message_id))
    except ValueError:
        return message_id


def _preview(body: bytes) -> str:
    return body[: PREVIEW_CHARS * 4].decode(errors="replace")[:PREVIEW_CHARS]
