"""Files: processing a file already in storage, or one uploaded with the request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, ValidationError

from contracts.events import FileProcessing, TaskType
from gateway.json_bodies import StrictJsonRoute
from gateway.routes.accepting import (
    RESPONSES,
    STRICT,
    Accepted,
    IdempotencyKey,
    accept,
    accepted,
    not_accepted,
    refusals_answered,
)
from gateway.routes.deps import GatewayDep
from gateway.upload_jobs import accept_upload
from gateway.uploads import UploadRefused, receive_upload
from storage import StorageUnavailable

router = APIRouter(prefix="/v1", tags=["tasks"], route_class=StrictJsonRoute)

# The upload route counts the file's bytes itself against MAX_UPLOAD_BYTES, so
# that its 413 can say what the limit is; this lifts the app-wide body limit.
UPLOAD_BODY_LIMIT = 2**62

UPLOAD_RESPONSES = {
    **RESPONSES,
    413: {"description": "The file is larger than MAX_UPLOAD_BYTES; nothing was kept."},
    415: {"description": "The body is not multipart/form-data."},
}

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


class FileRequest(FileProcessing):
    model_config = STRICT | ConfigDict(
        json_schema_extra={
            "examples": [{"source": "inbox/orders.csv", "operations": ["checksum", "csv_stats", "csv_to_parquet"]}]
        }
    )


@router.post("/files", status_code=202, response_model=Accepted, responses=RESPONSES)
async def process_file(body: FileRequest, gateway: GatewayDep, key: IdempotencyKey = None) -> JSONResponse:
    """Process a file already in storage (checksum, CSV statistics, conversions)."""
    return await accept(gateway, TaskType.file, body, key)


@router.post(
    "/files/upload",
    status_code=202,
    response_model=Accepted,
    responses=UPLOAD_RESPONSES,
    openapi_extra=UPLOAD_BODY,
    max_body_size=UPLOAD_BODY_LIMIT,
)
async def upload_file(
    request: Request,
    gateway: GatewayDep,
    operations: Annotated[
        str, Query(description="Comma-separated, e.g. checksum,csv_stats,csv_to_parquet", examples=["checksum"])
    ],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Upload a file (multipart field `file`), streamed to storage, and process it."""
    wanted = _operations(operations)
    try:
        upload = await receive_upload(request, gateway.storage, gateway.settings.max_upload_bytes)
    except UploadRefused as refused:
        raise HTTPException(refused.status_code, detail=refused.detail) from None
    except StorageUnavailable as error:
        raise not_accepted(f"could not store the file: {error}") from error
    with refusals_answered(key):
        receipt = await accept_upload(gateway.intake, gateway.storage, upload, wanted, key)
    return accepted(receipt)


def _operations(listed: str) -> list[str]:
    wanted = [name.strip() for name in listed.split(",") if name.strip()]
    try:
        FileProcessing(source="upload", operations=wanted)
    except ValidationError as error:
        raise RequestValidationError(
            [
                {**problem, "loc": ("query", "operations", *problem["loc"][1:])}
                for problem in error.errors(include_url=False, include_context=False)
            ]
        ) from None
    return wanted
