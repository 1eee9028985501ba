"""JSON request bodies, read strictly: what JSON cannot carry faithfully is a 422, not a surprise later.

Python's json module reads `NaN` and `Infinity`, turns `1e309` into infinity
and lets a lone surrogate (`"\\ud800"`) through; each was stored, published,
and then became null, a 500, or a dead letter. The parser here (pydantic-core's,
the one the services read messages with) refuses them where they stand, with
their position, and FastAPI answers 422 `json_invalid`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from pydantic_core import from_json
from starlette.requests import Request
from starlette.responses import Response

# jiter's messages end "at line L column C"; FastAPI reports the offset.
_POSITION = re.compile(r" at line (\d+) column (\d+)$")


# The parser's words for what Python's json module would have let through.
_NOT_A_NUMBER = re.compile(rb"-?(NaN|Infinity)")
NON_FINITE = "NaN and Infinity are not JSON numbers; send a finite number, or null"
LONE_SURROGATE = "a \\ud800-\\udfff escape must be half of a surrogate pair; alone it is not a character"


def parse_json(body: bytes) -> Any:
    """The JSON value in `body`; json.JSONDecodeError (what FastAPI turns into a 422) if it has none."""
    try:
        return from_json(body, allow_inf_nan=False, cache_strings="keys")
    except ValueError as error:
        message, position = _located(str(error), body)
        raise json.JSONDecodeError(
            _explained(message, body, position), body.decode("utf-8", "replace"), position
        ) from None


def _explained(message: str, body: bytes, position: int) -> str:
    if "surrogate" in message or "end of hex escape" in message:
        return f"{message}: {LONE_SURROGATE}"
    if _NOT_A_NUMBER.match(body, max(position - 1, 0)) or _NOT_A_NUMBER.match(body, position):
        return f"{message}: {NON_FINITE}"
    return message


def _located(message: str, body: bytes) -> tuple[str, int]:
    found = _POSITION.search(message)
    if found is None:
        return message, 0
    line, column = int(found.group(1)), int(found.group(2))
    line_start = sum(len(text) + 1 for text in body.split(b"\n")[: line - 1])
    return message[: found.start()], line_start + max(column - 1, 0)


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read by `parse_json`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
