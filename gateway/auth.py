"""API keys: with API_KEYS set, every /v1 request must bring one as `Authorization: Bearer <key>`.

Unset, the API is open: for a laptop, or behind a proxy that authenticates.
The key is checked by an ASGI middleware, before the body is read or parsed,
so a caller without a key learns nothing from how its body would be judged
and costs the gateway no parsing or upload.
Keys are compared as SHA-256 digests with `hmac.compare_digest`, against every
key each time, so how long an answer takes tells nothing about a guess.
Health, readiness, metrics and the API's own description (/docs, /openapi.json)
stay open: probes and scrapers have no key, and the description is public.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# Only describes the scheme in OpenAPI (Swagger's "Authorize" button); the middleware enforces it.
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="APIKey", description="One of the gateway's API_KEYS.")

GUARDED_PREFIX = "/v1"
NO_KEY = "this API needs a key: send `Authorization: Bearer <key>`"
UNKNOWN_KEY = "the API key is not one of this gateway's"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _digest(key: str | bytes) -> bytes:
    return hashlib.sha256(key.encode() if isinstance(key, str) else key).digest()


class ApiKeys:
    """The keys a gateway knows, and why an Authorization header is not one of them."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("an API key check needs at least one key")
        self._known = [_digest(key) for key in keys]

    def refusal(self, authorization: str | None) -> str | None:
        """Why a request with this Authorization header may not in, or None if it may."""
        scheme, credentials = get_authorization_scheme_param(authorization)
        if scheme.lower() != "bearer" or not credentials:
            return NO_KEY
        presented = _digest(credentials)
        # A list, not a generator: every key is compared, whichever matches.
        if not any([hmac.compare_digest(presented, key) for key in self._known]):
            return UNKNOWN_KEY
        return None


def is_guarded(path: str) -> bool:
    return path == GUARDED_PREFIX or path.startswith(GUARDED_PREFIX + "/")


class ApiKeyMiddleware:
    """Answers 401 to a /v1 request without a known key, before anything reads its body."""

    def __init__(self, app: ASGIApp, keys: Sequence[str]) -> None:
        self.app = app
        self.keys = ApiKeys(keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_guarded(scope["path"]):
            refusal = self.keys.refusal(Headers(scope=scope).get("authorization"))
            if refusal is not None:
                response = JSONResponse({"detail": refusal}, status_code=401, headers=_CHALLENGE)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
