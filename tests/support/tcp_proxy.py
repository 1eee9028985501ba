"""A loopback TCP proxy to put between a client and the broker, and then break.

The idea is the TCPProxy of aio-pika's own robustness tests: the client
connects through the proxy, which can cut every connection at once
(`disconnect_all`, as a dropped link or a restarted load balancer would) or
stop passing bytes without closing anything (`stall`, a black-holed link that
only heartbeats can detect), while the broker itself stays up.

    proxy = TcpProxy("127.0.0.1", 5672)
    port = await proxy.start()
    connection = await aio_pika.connect_robust(f"amqp://guest:guest@127.0.0.1:{port}/?heartbeat=2")
"""

from __future__ import annotations

import asyncio
import socket
import struct


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.connections_accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._links: set[asyncio.Task[None]] = set()
        # Cleared while stalled: every pump waits on it before passing bytes on.
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> int:
        """Listen on a free loopback port and return it."""
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        return self.port

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        return self._server.sockets[0].getsockname()[1]

    async def disconnect_all(self) -> None:
        """Reset every proxied connection, on the client's side and the broker's."""
        for writer in list(self._writers):
            _abort(writer)

    def stall(self) -> None:
        """Stop passing bytes either way, closing nothing; new connections hang too."""
        self._flowing.clear()

    def resume(self) -> None:
        """Pass bytes again, including whatever was held back while stalled."""
        self._flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.disconnect_all()
        for link in list(self._links):
            link.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _on_client(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        link = asyncio.current_task()
        assert link is not None
        self._links.add(link)
        self._writers.add(client_writer)
        try:
            await self._forward(client_reader, client_writer)
        except asyncio.CancelledError:
            # Only close() cancels a link, and Python 3.11's start_server logs a
            # cancelled handler as an error: end quietly instead.
            pass
        finally:
            self._writers.discard(client_writer)
            self._links.discard(link)

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        # A black hole answers nobody: a client connecting meanwhile gets no handshake.
        await self._flowing.wait()
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            _abort(client_writer)
            return
        self._writers.add(upstream_writer)
        try:
            await asyncio.gather(
                self._pump(client_reader, upstream_writer),
                self._pump(upstream_reader, client_writer),
            )
        finally:
            self._writers.discard(upstream_writer)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction until either side goes away, then close the other."""
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
            # A stalled link passes no FIN either.
            await self._flowing.wait()
        except OSError:  # reset by either side
            pass
        finally:
            writer.close()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with an RST rather than a FIN, as a link that breaks does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:  # already closed
            pass
    writer.transport.abort()
