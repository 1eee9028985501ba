"""How the gateway words a 422: FastAPI's shape, safe for any input it quotes.

FastAPI's own handler writes the refused input back with `json.dumps(allow_nan=False)`,
so a body refused for holding infinity (a 1e309 read as a float) became a 500.
Here such an input is written as the string "Infinity", "-Infinity" or "NaN".
"""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic_core import to_json
from starlette.responses import Response


async def validation_failed(request: Request, error: RequestValidationError) -> Response:
    detail = jsonable_encoder({"detail": error.errors()})
    return Response(
        to_json(detail, inf_nan_mode="strings"),
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        media_type="application/json",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_failed)  # type: ignore[arg-type]
