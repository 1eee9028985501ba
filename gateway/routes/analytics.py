"""Analytics: a declared pandas pipeline over posted records or a stored dataset.

Inline records are checked here, where their columns are known: an unknown
column or a type mismatch is a 422 naming the operation. A large batch is
then spilled to storage (`gateway.spilling`), so the message stays small.
(The check is plain Python: the gateway does not install pandas.)
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import ConfigDict

from contracts.events import Analysis, TaskType
from contracts.pipeline_check import PipelineInvalid, check_pipeline, schema_of_records
from gateway.json_bodies import StrictJsonRoute
from gateway.routes.accepting import RESPONSES, STRICT, Accepted, IdempotencyKey, accept, not_accepted
from gateway.routes.deps import GatewayDep
from gateway.spilling import spill_large_records
from storage import StorageUnavailable

router = APIRouter(prefix="/v1", tags=["tasks"], route_class=StrictJsonRoute)

# Above the app's MAX_BODY_BYTES: up to MAX_INLINE_RECORDS records may come
# inline. A route's limit is fixed when the module loads, so this one is a
# constant; the record count is the configurable cap.
INLINE_BODY_LIMIT = 64 * 1024 * 1024

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
        try:
            body = await spill_large_records(gateway.storage, body, gateway.settings.inline_records_spill_bytes)
        except StorageUnavailable as error:
            raise not_accepted(f"could not store the records: {error}") from error
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
