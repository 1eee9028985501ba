"""The HTTP client the providers share: one pooled aiohttp session, and the replies it reads.

aiohttp rather than httpx: with tens of requests in flight, httpcore's pool
spends its time on its own bookkeeping (every request scans every pooled
connection), and a fan-out through it was slower than sequential requests.
A client given a `DestinationPolicy` checks each URL before the request and
each resolved address before the connection (see `destinations`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from notify_service.destinations import DestinationPolicy, GuardedResolver, RefusedDestination

# A reply is read for its status and a short error text (or a token): a
# receiver cannot make the service hold more than this of it in memory.
MAX_REPLY_BYTES = 65_536


class Unreachable(Exception):
    """No reply: the connection failed, broke, or timed out."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Reply:
    status: int
    reason: str
    headers: CIMultiDictProxy[str]
    body: bytes

    @classmethod
    def of(cls, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None, reason: str = "") -> Reply:
        """A reply made up, for tests."""
        return cls(status, reason, CIMultiDictProxy(CIMultiDict(headers or {})), body)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class HttpClient:
    def __init__(self, session: aiohttp.ClientSession, policy: DestinationPolicy | None = None) -> None:
        """`policy`: the destination checks, for URLs that come from requests; None for configured URLs."""
        self._session = session
        self._policy = policy

    async def post(
        self,
        url: str,
        *,
        body: bytes | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """POST once, never following a redirect; raises `RefusedDestination` or `Unreachable`."""
        try:
            target = URL(url)
        except (ValueError, TypeError) as error:
            raise RefusedDestination(f"not a URL: {error}") from error
        if self._policy is not None:
            self._policy.check_url(target)
        try:
            async with self._session.post(
                target, data=body if form is None else dict(form), headers=headers, allow_redirects=False
            ) as response:
                content = await _read_capped(response)
                return Reply(response.status, response.reason or "", response.headers, content)
        except (aiohttp.ClientError, TimeoutError) as error:
            if isinstance(error, aiohttp.InvalidURL):
                raise RefusedDestination(f"not a usable URL: {error}") from error
            timed_out = isinstance(error, TimeoutError)
            kind = "timed out" if timed_out else "unreachable"
            raise Unreachable(f"{kind}: {type(error).__name__} {error}".strip(), timed_out=timed_out) from error
        except ValueError as error:
            # aiohttp builds the request lazily: a host IDNA cannot encode (an empty or
            # over-long label), credentials next to an Authorization header, ... fail here.
            raise RefusedDestination(f"not a usable URL: {error}") from error


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < MAX_REPLY_BYTES and (chunk := await response.content.read(MAX_REPLY_BYTES - size)):
        chunks.append(chunk)
        size += len(chunk)
    # Whatever is left unread makes aiohttp close that connection rather than reuse it.
    return b"".join(chunks)


@asynccontextmanager
async def pooled_client(
    max_connections: int, timeout: float, policy: DestinationPolicy | None = None
) -> AsyncIterator[HttpClient]:
    """A client holding at most `max_connections` connections; with a `policy`, guarded against SSRF."""
    connector = aiohttp.TCPConnector(
        limit=max_connections,
        limit_per_host=0,
        # Resolved at connect time and checked there: the addresses connected to are the checked ones.
        resolver=GuardedResolver(policy) if policy is not None else None,
    )
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        # No proxies or .netrc from the environment: a request's URL goes where it says.
        trust_env=False,
    )
    async with session:
        yield HttpClient(session, policy)
