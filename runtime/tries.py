"""Counting a message's tries: in its body, or in a header.

A task event counts its own tries in `attempt`: a retry is a new body. A
status event's `attempt` is a fact about its job, not about the event, so the
gateway counts a status event's tries in the `x-offload-attempt` header and
passes its body on untouched. Each way also knows how a replay from the
dead-letter queue turns a message back into a first try. Which way a queue's
consumer counts is a property of its queues (`ServiceQueues.tries_in_header`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from contracts import headers
from contracts.events import Envelope
from contracts.headers import DeliveryHeaders
from contracts.topology import ServiceQueues
from runtime.decode import parse_json

Headers = dict[str, Any]


class Tries(Protocol):
    def attempt(self, event: Envelope, delivery: DeliveryHeaders) -> int:
        """Which try of the message this delivery is (1 for the first)."""
        ...

    def next_try(self, body: bytes, event: Envelope, attempt: int, carried: Headers) -> tuple[bytes, Headers]:
        """The body and headers of the message's next try, after try `attempt` failed."""
        ...

    def first_try(self, body: bytes, carried: Mapping[str, Any]) -> tuple[bytes, Headers]:
        """The body and headers of a replay: a first try with its full retries again."""
        ...


class TriesInBody:
    """A task event's tries: its `attempt` field."""

    def attempt(self, event: Envelope, delivery: DeliveryHeaders) -> int:
        return event.attempt

    def next_try(self, body: bytes, event: Envelope, attempt: int, carried: Headers) -> tuple[bytes, Headers]:
        return event.next_attempt().model_dump_json().encode(), carried

    def first_try(self, body: bytes, carried: Mapping[str, Any]) -> tuple[bytes, Headers]:
        # A stray header count goes too: a bad one would get the replay refused again.
        return _with_first_attempt(body), _without_header_count(carried)


class TriesInHeader:
    """A status event's tries: the `x-offload-attempt` header, the body being a fact about its job."""

    def attempt(self, event: Envelope, delivery: DeliveryHeaders) -> int:
        return delivery.attempt or 1

    def next_try(self, body: bytes, event: Envelope, attempt: int, carried: Headers) -> tuple[bytes, Headers]:
        return body, {**carried, headers.ATTEMPT: attempt + 1}

    def first_try(self, body: bytes, carried: Mapping[str, Any]) -> tuple[bytes, Headers]:
        return body, _without_header_count(carried)


def tries_of(queues: ServiceQueues) -> Tries:
    """How the consumer of `queues` counts tries, as its queues say."""
    return TriesInHeader() if queues.tries_in_header else TriesInBody()


def _without_header_count(carried: Mapping[str, Any]) -> Headers:
    return {name: value for name, value in carried.items() if name != headers.ATTEMPT}


def _with_first_attempt(body: bytes) -> bytes:
    """The body with `attempt` reset to 1.

    A body that is not a JSON object with an `attempt` (or nests too deeply to
    read) goes out untouched, and if invalid it will be dead-lettered again.
    """
    try:
        data = parse_json(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or "attempt" not in data:
        return body
    data["attempt"] = 1
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
