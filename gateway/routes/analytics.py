"""Analytics: a declared pandas pipeline over posted records or a stored dataset.

Inline records are checked here, where their columns are known: an unknown
column or a type mismatch is a 422 naming the operation. A large batch is
written to storage as JSON lines and passed by reference, so the message
stays small. (The check is plain Python: the gateway does not install pandas.)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import ConfigDict

from contracts.events import Analysis, TaskType
from contracts.pipeline_check import PipelineInvalid, check_pipeline, schema_of_records
from gateway.json_bodies import StrictJsonRoute
from gateway.routes.deps import GatewayDep
from gateway.routes.tasks import RESPONSES, STRICT, Accepted, IdempotencyKey, accept, not_accepted
from storage import Storage, StorageUnavailable

router = APIRouter(prefix="/v1", tags=["tasks"], route_class=StrictJsonRoute)

# Above the app's MAX_BODY_BYTES: up to MAX_INLINE_RECORDS records may come
# inline. A route's limit is fixed when the module loads, so this one is a
# constant; the record count is the configurable cap.
INLINE_BODY_LIMIT = 64 * 1024 * 1024
SPILLED_RECORDS = "analytics/inputs"

ANALYTICS_RESPONSES = {
    **RESPONSES,
    413: {"description": "More inline records than MAX_INLINE_RECORDS, or a body over 64 MiB."},
    422: {"description": "Invalid body, a pipeline that does not fit the inline records, or a reused key."},
}


class AnalysisRequest(Analysis):
    model_config = STRICT | ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records": [{"city": "Oslo", "amount": 3.5}, {"city": "Rome", "amount": 2}],
                    "operations": [{"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum"]}}],
                }
            ]
        }
    )


@router.post(
    "/analytics",
    status_code=202,
    response_model=Accepted,
    responses=ANALYTICS_RESPONSES,
    max_body_size=INLINE_BODY_LIMIT,
)
async def run_analysis(body: AnalysisRequest, gateway: GatewayDep, key: IdempotencyKey = None) -> JSONResponse:
    """Run a declared pandas pipeline over records or a stored dataset."""
    if body.records is not None:
        limit = gateway.settings.max_inline_records
        if len(body.records) > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                detail=f"{len(body.records)} records inline, over MAX_INLINE_RECORDS ({limit}); "
                "store them as a CSV or Parquet dataset and pass its path as 'dataset'",
            )
        refuse_misfit_pipeline(body)
        body = await spill_large_records(gateway.storage, body, gateway.settings.inline_records_spill_bytes)
    return await accept(gateway, TaskType.analysis, body, key)


def refuse_misfit_pipeline(body: Analysis) -> None:
    try:
        check_pipeline(schema_of_records(body.records or []), body.operations)
    except PipelineInvalid as error:
        detail = [
            {
                "loc": ["body", "operations", error.index, error.field],
                "msg": str(error),
                "type": "pipeline_mismatch",
            }
        ]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail) from error


async def spill_large_records(storage: Storage, body: AnalysisRequest, limit: int) -> AnalysisRequest:
    """The same request with its records in storage when they are over `limit` bytes as JSON."""
    lines = await asyncio.to_thread(_json_lines, body.records or [])
    if len(lines) <= limit:
        return body
    # Named by content: a retried request (Idempotency-Key) becomes the very same event.
    key = f"{SPILLED_RECORDS}/{hashlib.sha256(lines).hexdigest()}.jsonl"
    try:
        await asyncio.to_thread(_store, storage, key, lines)
    except StorageUnavailable as error:
        raise not_accepted(f"could not store the records: {error}") from error
    return AnalysisRequest.model_construct(records=None, dataset=key, operations=body.operations)


def _json_lines(records: list[dict[str, Any]]) -> bytes:
    return b"\n".join(json.dumps(record, separators=(",", ":")).encode() for record in records)


def _store(storage: Storage, key: str, data: bytes) -> None:
    with storage.translate_errors(key), storage.open_write(key) as file:
        file.write(data)
