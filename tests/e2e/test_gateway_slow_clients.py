"""Slow clients: a gateway closes the connection of one that trickles its headers or its body."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

BOUND = 1.0  # HEADER_TIMEOUT_SECONDS and BODY_TIMEOUT_SECONDS of the gateway under test
CLIENTS = 20


def connect(base_url: str) -> socket.socket:
    where = urlsplit(str(base_url))
    return socket.create_connection((where.hostname, where.port), timeout=10)


def trickle(connection: socket.socket, data: bytes, every: float, for_at_most: float) -> tuple[bytes, float]:
    """Send `data` a byte at a time until the gateway answers or closes; what it said, and when."""
    started = time.monotonic()
    for byte in data:
        if time.monotonic() - started > for_at_most:
            break
        try:
            connection.sendall(bytes([byte]))
        except OSError:
            break
        connection.settimeout(every)
        try:
            answer = connection.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            answer = b""
        return answer + _rest(connection), time.monotonic() - started
    return b"", time.monotonic() - started


def _rest(connection: socket.socket) -> bytes:
    connection.settimeout(2)
    chunks = []
    try:
        while chunk := connection.recv(4096):
            chunks.append(chunk)
    except OSError:
        pass
    return b"".join(chunks)


@pytest.fixture
def slow_gateway(gateway):
    return gateway(HEADER_TIMEOUT_SECONDS=str(BOUND), BODY_TIMEOUT_SECONDS=str(BOUND), BODY_MIN_RATE="1000")


def test_headers_sent_a_byte_at_a_time_get_a_408_and_a_closed_connection(slow_gateway):
    request = b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    connections = [connect(slow_gateway.base_url) for _ in range(CLIENTS)]
    answer, took = trickle(connections[0], request, every=0.05, for_at_most=10 * BOUND)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert took < 5 * BOUND
    for idle in connections[1:]:  # the others sent nothing at all: closed as well
        idle.settimeout(5 * BOUND)
        assert idle.recv(4096).startswith(b"HTTP/1.1 408 ")
        assert _rest(idle) == b""


def test_a_body_sent_a_byte_at_a_time_gets_a_408_and_a_closed_connection(slow_gateway):
    body = b'{"to": ["ada@example.com"], "subject": "hello", "text": "' + b"a" * 500 + b'"}'
    head = b"POST /v1/emails HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
        body
    )
    connection = connect(slow_gateway.base_url)
    connection.sendall(head)
    answer, took = trickle(connection, body, every=0.1, for_at_most=10 * BOUND)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"the request body took too long" in answer
    assert took < 5 * BOUND
    assert slow_gateway.get("/healthz").status_code == 200  # the gateway itself is unharmed


def test_a_client_at_a_fair_pace_is_served(slow_gateway):
    response = slow_gateway.post("/v1/emails", json={"to": ["ada@example.com"], "subject": "hi", "text": "x"})
    assert response.status_code == 202
