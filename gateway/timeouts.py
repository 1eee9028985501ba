"""Bounds on how long a client may take to send its request, so slow clients cannot hold connections.

uvicorn bounds only the idle time between requests (KEEP_ALIVE_SECONDS). Two
more bounds close the rest:

- the request line and headers must arrive within HEADER_TIMEOUT_SECONDS of
  the connection opening or of the request's first byte (an HTTP protocol
  class for uvicorn, since headers are read before the app sees anything);
- the body must arrive within BODY_TIMEOUT_SECONDS, plus one second for every
  BODY_MIN_RATE bytes received, counting only the time spent waiting for it
  (an ASGI middleware). A large upload at a decent rate always has time; a
  client trickling a byte at a time runs out of it.

Either way the client gets a 408 and its connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEADERS_TOO_SLOW = b"the request headers took too long\n"
_TIMED_OUT_HEADERS = b"".join(
    [
        b"HTTP/1.1 408 Request Timeout\r\n",
        b"content-type: text/plain; charset=utf-8\r\n",
        b"connection: close\r\n",
        b"content-length: %d\r\n\r\n" % len(_HEADERS_TOO_SLOW),
        _HEADERS_TOO_SLOW,
    ]
)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers are late."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_header_timer()  # a new request on a kept-alive connection gets its own time

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        super().on_headers_complete()

    def _start_header_timer(self) -> None:
        self._stop_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self.transport is None or self.transport.is_closing():
            return
        # A pipelined request may still be answering the one before: then only close.
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(_TIMED_OUT_HEADERS)
        self.transport.close()


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class to give uvicorn (`http=`), with its header bound set."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": seconds})


class BodyTimeoutMiddleware:
    """Gives the app a `receive` that answers 408 once the body is later than its bound."""

    def __init__(self, app: ASGIApp, *, timeout: float, min_rate: float) -> None:
        self.app = app
        self.timeout = timeout
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _BodyDeadline(receive, self.timeout, self.min_rate)
        await self.app(scope, body.receive, send)


class _BodyDeadline:
    def __init__(self, receive: Receive, timeout: float, min_rate: float) -> None:
        self._receive = receive
        self._timeout = timeout
        self._min_rate = min_rate
        self._waited = 0.0
        self._received = 0
        self._complete = False

    def _budget(self) -> float:
        earned = self._received / self._min_rate if self._min_rate > 0 else 0.0
        return max(self._timeout + earned - self._waited, 0.0)

    async def receive(self) -> Message:
        if self._complete:
            return await self._receive()  # after the body, a wait for disconnect: no bound
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(self._budget()):
                message = await self._receive()
        except TimeoutError:
            waited = self._waited + loop.time() - started
            raise HTTPException(
                status.HTTP_408_REQUEST_TIMEOUT,
                detail=f"the request body took too long: {self._received} bytes in {waited:.0f} s",
                headers={"Connection": "close"},
            ) from None
        self._waited += loop.time() - started
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            self._complete = not message.get("more_body", False)
        return message
