"""The failure record: why a message was given up on, as its dead letter's headers say.

One model for the whole format: the consumer writes a record as headers
(`to_headers()`), the gateway reads one back from any dead letter
(`from_headers()`), and the AsyncAPI document describes the headers from the
model's fields. A message the broker dead-lettered itself carries no record of
Offload's; its record is read from RabbitMQ's `x-death` header instead.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, ValidationInfo, field_validator

from contracts import bounds, headers
from contracts.events import DeadLetterReason

# AMQP's short strings (queue names, routing keys) hold at most 255 bytes.
MAX_ROUTING_KEY = 255
MAX_REASON = 64
UNKNOWN_REASON = "unknown"

# Written as `datetime.isoformat()` ("+00:00"), as the consumer always has.
Moment = Annotated[AwareDatetime, PlainSerializer(datetime.isoformat, return_type=str)]


class FailureRecord(BaseModel):
    """Why a message failed for good, each field one `x-offload-*` header.

    Texts too long and histories too many lines are cut on the way in, so a
    record always fits its bounds and writing one never fails.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    reason: str = Field(
        min_length=1,
        max_length=MAX_REASON,
        alias=headers.REASON,
        description="Why it was given up on.",
        # Offload's consumer writes only these; a record read from `x-death`
        # holds the broker's own reason, which is never written as this header.
        json_schema_extra={"enum": [reason.value for reason in DeadLetterReason]},
    )
    error_type: str | None = Field(
        None,
        max_length=bounds.MAX_ERROR_TYPE,
        alias=headers.ERROR_TYPE,
        description="The exception class of the last failure.",
    )
    error_message: str | None = Field(
        None, max_length=bounds.MAX_ERROR_TEXT, alias=headers.ERROR_MESSAGE, description="The last failure's message."
    )
    attempts: int | None = Field(
        None, ge=1, le=bounds.MAX_ATTEMPT, alias=headers.ATTEMPTS, description="How many times it was tried."
    )
    routing_key: str | None = Field(
        None,
        max_length=MAX_ROUTING_KEY,
        alias=headers.ROUTING_KEY,
        description="The routing key it was published with.",
    )
    service: str | None = Field(
        None, max_length=bounds.MAX_SERVICE_NAME, alias=headers.SERVICE, description="The service that gave up on it."
    )
    failed_at: Moment | None = Field(None, alias=headers.FAILED_AT, description="When it last failed.")
    first_failed_at: Moment | None = Field(None, alias=headers.FIRST_FAILED_AT, description="When it first failed.")
    history: list[Annotated[str, Field(max_length=bounds.MAX_HISTORY_LINE)]] = Field(
        default_factory=list,
        max_length=bounds.MAX_HISTORY,
        alias=headers.HISTORY,
        description="One line per failed attempt, oldest first.",
    )

    @field_validator("reason", "error_type", "error_message", "routing_key", "service", mode="before")
    @classmethod
    def _cut(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str) or info.field_name is None:
            return value
        return value[: _max_length(info.field_name)]

    @field_validator("history", mode="before")
    @classmethod
    def _last_lines(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        return [
            line[: bounds.MAX_HISTORY_LINE] if isinstance(line, str) else line for line in value[-bounds.MAX_HISTORY :]
        ]

    def to_headers(self) -> dict[str, Any]:
        """The headers a dead letter carries; a field that is not known is left out."""
        return self.model_dump(by_alias=True, exclude_none=True)

    @classmethod
    def from_headers(cls, values: Mapping[str, Any]) -> FailureRecord:
        """The record in any headers, read leniently: it never raises.

        A header of the wrong type, or out of bounds, reads as missing; a text
        of another type is shown as its text. Without Offload's reason, the
        failure is read from the broker's `x-death`.
        """
        history = _history(values.get(headers.HISTORY))
        first_failed_at = _time(values.get(headers.FIRST_FAILED_AT))
        if _text(values.get(headers.REASON)):
            return cls(
                reason=_text(values[headers.REASON], MAX_REASON) or UNKNOWN_REASON,
                error_type=_text(values.get(headers.ERROR_TYPE)),
                error_message=_text(values.get(headers.ERROR_MESSAGE)),
                attempts=_count(values.get(headers.ATTEMPTS)),
                routing_key=_text(values.get(headers.ROUTING_KEY)),
                service=_text(values.get(headers.SERVICE)),
                failed_at=_time(values.get(headers.FAILED_AT)),
                first_failed_at=first_failed_at,
                history=history,
            )
        return _broker_failure(values.get("x-death"), first_failed_at, history)


# The header of each field of a record.
FAILURE_HEADERS = frozenset(field.alias for field in FailureRecord.model_fields.values() if field.alias)


def _max_length(field: str) -> int:
    return next(rule.max_length for rule in FailureRecord.model_fields[field].metadata if hasattr(rule, "max_length"))


def _broker_failure(deaths: Any, first_failed_at: datetime | None, history: list[str]) -> FailureRecord:
    # The broker puts its most recent dead-lettering first.
    death = deaths[0] if isinstance(deaths, list | tuple) and deaths else None
    if not isinstance(death, Mapping):
        return FailureRecord(reason=UNKNOWN_REASON, first_failed_at=first_failed_at, history=history)
    reason = _text(death.get("reason"), MAX_REASON) or UNKNOWN_REASON
    queue = _text(death.get("queue"), MAX_ROUTING_KEY) or "?"
    if reason == "delivery_limit":
        message = (
            f"dead-lettered by the broker: the delivery limit of queue {queue} was reached "
            "(its consumer crashed or requeued it on every delivery)"
        )
    else:
        message = f"dead-lettered by the broker ({reason}) from queue {queue}"
    routing_keys = death.get("routing-keys")
    first_key = routing_keys[0] if isinstance(routing_keys, list | tuple) and routing_keys else None
    died_at = _time(death.get("time"))
    return FailureRecord(
        reason=reason,
        error_message=message,
        attempts=_count(death.get("count")),
        routing_key=_text(first_key, MAX_ROUTING_KEY),
        failed_at=died_at,
        first_failed_at=first_failed_at,
        history=history,
    )


def _history(value: Any) -> list[str]:
    lines = value if isinstance(value, list | tuple) else [] if value is None else [value]
    return [_text(line, bounds.MAX_HISTORY_LINE) or "" for line in lines[-bounds.MAX_HISTORY :]]


def _text(value: Any, limit: int = bounds.MAX_ERROR_TEXT) -> str | None:
    """A header as text, whatever its type, cut to `limit` characters."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value[: limit * 4]).decode(errors="replace")[:limit]
    if isinstance(value, str):
        return value[:limit]
    return reprlib.repr(value)[:limit]


def _count(value: Any) -> int | None:
    """A count of attempts from a header: an integer within its bounds, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= bounds.MAX_ATTEMPT else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif value is None:
        return None
    else:
        try:
            moment = datetime.fromisoformat(_text(value) or "")
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
