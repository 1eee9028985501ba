"""AMQP headers Offload sets, so that a dead letter explains itself.

A dead-lettered message keeps its original body; these headers say why it
died, where it was going and how many times it was tried. Those that describe
the failure are one record, `contracts.failures.FailureRecord`.

The headers a consumer acts on (`DeliveryHeaders`) are read through one typed
model: anyone can publish any header of any type, and a value the runtime
could not carry on with must stop the message before its handler runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from contracts import bounds

REASON = "x-offload-reason"
ERROR_TYPE = "x-offload-error-type"
ERROR_MESSAGE = "x-offload-error-message"
ATTEMPTS = "x-offload-attempts"
ROUTING_KEY = "x-offload-routing-key"
SERVICE = "x-offload-service"
FAILED_AT = "x-offload-failed-at"
HISTORY = "x-offload-history"  # one line per failed attempt, oldest first
FIRST_FAILED_AT = "x-offload-first-failed-at"  # kept from the first failure on
REPLAYS = "x-offload-replays"  # set by a replay from the dead-letter queue
ATTEMPT = "x-offload-attempt"  # tries of a status event (its body's attempt is its job's)
# Who published a message that a consumer passed on (retried, dead-lettered,
# replayed): its user_id is then the consumer's own (see Broker.publisher_of).
PUBLISHED_BY = "x-offload-published-by"

CONTENT_TYPE = "application/json"

HistoryLine = Annotated[StrictStr, Field(max_length=bounds.MAX_HISTORY_LINE)]


class DeliveryHeaders(BaseModel):
    """The `x-offload-*` headers a consumer reads, each checked for type and range.

    Strict: "3" is not 3, and a bool is not a number, whatever a client library
    makes of them; anything else is ignored here (the broker's own headers, a
    dead letter's description of itself).
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    replays: StrictInt = Field(
        0, ge=0, le=bounds.MAX_REPLAYS, alias=REPLAYS, description="How many times it was replayed."
    )
    attempt: StrictInt | None = Field(
        None, ge=1, le=bounds.MAX_ATTEMPT, alias=ATTEMPT, description="On a status event: its own tries."
    )
    history: list[HistoryLine] = Field(default_factory=list, max_length=bounds.MAX_HISTORY, alias=HISTORY)


def read_delivery_headers(raw: Mapping[str, Any] | None) -> DeliveryHeaders:
    """The typed headers of a delivery; raises `ValidationError` naming each bad one."""
    if raw is None:
        return DeliveryHeaders()
    if isinstance(raw, Mapping):
        # Only by header name: a header called "replays" is nobody's business.
        raw = {name: value for name, value in raw.items() if name in _field_of_header}
    return DeliveryHeaders.model_validate(raw)


def delivery_headers_or_defaults(raw: Mapping[str, Any] | None) -> DeliveryHeaders:
    """For a reader that must not refuse (a dead letter shown to an operator):
    each header that is valid, and the default in place of one that is not."""
    values: dict[str, Any] = {}
    for name in _field_of_header:
        try:
            values.update(read_delivery_headers({name: raw[name]}).model_dump(include={_field_of_header[name]}))
        except (KeyError, TypeError, ValidationError):
            continue
    return DeliveryHeaders.model_validate(values)


def header_schemas(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """The headers a model of headers reads (by alias), each as a JSON Schema: type, bounds, description."""
    properties = model.model_json_schema(by_alias=True)["properties"]
    return {name: _without_null(schema) for name, schema in properties.items()}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    # A header is missing rather than null, and a default is the reader's business: `T | None = x` is shown as `T`.
    schema = {key: value for key, value in schema.items() if key not in ("title", "default")}
    options = [option for option in schema.pop("anyOf", []) if option != {"type": "null"}]
    return {**options[0], **schema} if options else schema


# Header name -> field name, for the headers `DeliveryHeaders` reads.
_field_of_header = {field.alias: name for name, field in DeliveryHeaders.model_fields.items()}
