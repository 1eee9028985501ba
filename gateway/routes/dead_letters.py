"""Dead letters: what failed for good, grouped by cause, and replaying it once fixed."""

from __future__ import annotations

from typing import Annotated, Self

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.dead_letters import (
    BrokerUnavailable,
    DeadLetterListing,
    ReplayReport,
    UnknownService,
    list_dead_letters,
    replay,
)
from gateway.json_bodies import StrictJsonRoute
from gateway.routes.deps import GatewayDep
from runtime.broker import Broker

router = APIRouter(prefix="/v1", tags=["dead letters"], route_class=StrictJsonRoute)

# Bounds of a replay request: more ids than a listing shows, and ids as long as
# any AMQP message id (a short string, at most 255 bytes).
MAX_SELECTED = 10_000
MessageId = Annotated[str, Field(min_length=1, max_length=255)]

ERRORS = {
    404: {"description": "No service of that name."},
    503: {"description": "The broker is not connected; nothing was changed."},
}


class ReplayRequest(BaseModel):
    """Which dead letters to replay: by message id, by fingerprint, or all (`{}`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"message_ids": ["0b1c..."]}, {"fingerprint": "3fa2c81d09be"}, {}]},
    )

    message_ids: list[MessageId] | None = Field(default=None, min_length=1, max_length=MAX_SELECTED)
    fingerprint: str | None = Field(default=None, min_length=1, max_length=64)
    limit: int | None = Field(default=None, ge=1, le=MAX_SELECTED, description="Replay at most this many.")

    @model_validator(mode="after")
    def _one_selector(self) -> Self:
        if self.message_ids is not None and self.fingerprint is not None:
            raise ValueError("give message_ids or fingerprint, not both")
        return self


def _broker(gateway: GatewayDep) -> Broker:
    # The status consumer is attached once the topology is declared.
    if not gateway.broker.is_connected or gateway.status is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="the broker is not connected; try again")
    return gateway.broker


@router.get("/dead-letters", responses=ERRORS)
async def get_dead_letters(
    gateway: GatewayDep,
    service: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> DeadLetterListing:
    """Dead letters of one service (of all when none is given), grouped by failure fingerprint."""
    broker = _broker(gateway)
    try:
        letters = await list_dead_letters(broker, service, limit)
    except UnknownService as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    except BrokerUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from error
    return DeadLetterListing.of(letters)


@router.post("/dead-letters/{service}/replay", responses=ERRORS)
async def replay_dead_letters(service: str, body: ReplayRequest, gateway: GatewayDep) -> ReplayReport:
    """Republish dead letters as fresh first attempts; each leaves the queue once its copy is confirmed."""
    broker = _broker(gateway)
    try:
        return await replay(
            broker,
            service,
            message_ids=body.message_ids,
            fingerprint=body.fingerprint,
            limit=body.limit,
            count_replay=gateway.store.record_replay,
        )
    except UnknownService as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    except BrokerUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from error
