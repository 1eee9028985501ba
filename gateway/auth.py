"""API keys: with API_KEYS set, every /v1 request must bring one as `Authorization: Bearer <key>`.

Unset, the API is open: for a laptop, or behind a proxy that authenticates.
Keys are compared as SHA-256 digests with `hmac.compare_digest`, against every
key each time, so how long an answer takes tells nothing about a guess.
Health, readiness and metrics stay open for probes and scrapers.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False, scheme_name="APIKey", description="One of the gateway's API_KEYS.")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def api_key_guard(keys: Sequence[str]) -> Callable[..., Awaitable[None]]:
    """A dependency that lets a request in only with one of `keys`."""
    if not keys:
        raise ValueError("an API key guard needs at least one key")
    known = [_digest(key) for key in keys]

    async def require_api_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="this API needs a key: send `Authorization: Bearer <key>`",
                headers=_CHALLENGE,
            )
        presented = _digest(credentials.credentials)
        # A list, not a generator: every key is compared, whichever matches.
        if not any([hmac.compare_digest(presented, key) for key in known]):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, detail="the API key is not one of this gateway's", headers=_CHALLENGE
            )

    return require_api_key
