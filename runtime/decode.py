"""Turning an AMQP delivery into a contract message, or saying precisely why not.

Every body read off the wire goes through `parse_json` or `decode_message`
here, each refusing excessive nesting before a parser recurses into it: a
100,000-deep body would otherwise crash the reader with a RecursionError
(and a crash is redelivered, not dead-lettered).
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Mapping
from itertools import accumulate, count
from typing import Any, TypeVar
from uuid import UUID

from aio_pika.abc import AbstractIncomingMessage
from pydantic import TypeAdapter, ValidationError

from contracts.bounds import MAX_JSON_DEPTH
from contracts.events import FROM_THE_WIRE
from contracts.headers import CONTENT_TYPE, DeliveryHeaders, read_delivery_headers

E = TypeVar("E")

# A JSON string, escapes included (unrolled, so it is linear and never backtracks).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# What the structure of a JSON text is made of: strings (whose brackets do not count) and brackets.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
# Open brackets become 2 and closing ones 0: after n brackets the depth is their sum minus n.
_AS_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


class InvalidMessage(Exception):
    """The delivery can never become a valid event: dead-letter it, don't retry it."""


def decode_message(message: AbstractIncomingMessage, adapter: TypeAdapter[E], max_bytes: int) -> E:
    size = len(message.body)
    if size > max_bytes:
        raise InvalidMessage(f"body of {size} bytes exceeds the limit of {max_bytes} bytes")
    media_type = (message.content_type or "").split(";")[0].strip().lower()
    if media_type != CONTENT_TYPE:
        raise InvalidMessage(f"content type {message.content_type!r} is not {CONTENT_TYPE!r}")
    refuse_deep_nesting(message.body)
    try:
        return adapter.validate_json(message.body, context=FROM_THE_WIRE)
    except ValidationError as error:
        raise InvalidMessage(describe_validation_error(error)) from error


def decode_headers(message: AbstractIncomingMessage) -> DeliveryHeaders:
    """The `x-offload-*` headers the runtime acts on, or InvalidMessage naming the bad ones."""
    try:
        return read_delivery_headers(message.headers)
    except ValidationError as error:
        raise InvalidMessage(f"headers: {describe_validation_error(error)}") from error


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, each naming the field it is about."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "message"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in `body` (0 for a scalar), without recursing.

    Brackets inside strings do not count. Meant as a guard before parsing, so
    it does not check that the text is JSON at all: a parser does that next.
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, delete=_NOT_BRACKETS)
    if not brackets:
        return 0
    # All in C (no Python-level loop), since a large body can hold many brackets.
    return max(map(operator.sub, accumulate(brackets.translate(_AS_STEPS)), count(1)))


def refuse_deep_nesting(body: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    # Counting the open brackets first keeps the common case (a few) cheap.
    if body.count(b"[") + body.count(b"{") > limit and (depth := json_depth(body)) > limit:
        raise InvalidMessage(f"JSON nested {depth} levels deep; at most {limit} are allowed")


def parse_json(body: bytes) -> Any:
    """The JSON value of `body`; ValueError if it is not JSON or nests too deeply."""
    try:
        refuse_deep_nesting(body)
    except InvalidMessage as error:
        raise ValueError(str(error)) from error
    return json.loads(body)


def job_id_in(body: bytes) -> UUID | None:
    """The job id of an invalid message, if it names one, so its job can show the failure."""
    try:
        data = parse_json(body)
    except ValueError:
        # Too deep to parse, or not JSON: its top level may still name the job.
        return _as_uuid(_top_level_job_id(body))
    return _as_uuid(data.get("job_id") if isinstance(data, Mapping) else None)


def _top_level_job_id(body: bytes) -> str | None:
    """The string value of a top-level "job_id" key, found without parsing what nests below."""
    depth = 0
    previous: re.Match[bytes] | None = None
    for token in _TOKENS.finditer(body):
        text = token.group()
        if text in (b"[", b"{"):
            depth += 1
        elif text in (b"]", b"}"):
            depth -= 1
        elif depth == 1 and previous is not None and previous.group() == b'"job_id"':
            if body[previous.end() : token.start()].strip() == b":":  # a key and its value
                return text[1:-1].decode(errors="replace")
        previous = token
    return None


def _as_uuid(value: Any) -> UUID | None:
    try:
        return UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None
