"""The gateway, not its clients, decides when an idle connection ends (KEEP_ALIVE_SECONDS).

A server that closes idle connections at the same moment as its clients races
them: a request sent into a connection being closed fails with no response.
The default (75 s) outlasts httpx's 5 s and common proxies' 60 s, so they close first.
"""

import time
from http.client import HTTPConnection
from urllib.parse import urlsplit


def served(connection: HTTPConnection) -> bool:
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    return response.status == 200


def test_idle_connections_stay_open_for_keep_alive_seconds_then_close(gateway):
    address = urlsplit(str(gateway(KEEP_ALIVE_SECONDS="2").base_url))
    connection = HTTPConnection(address.hostname, address.port, timeout=5)
    assert served(connection)
    first_socket = connection.sock

    time.sleep(1)
    assert served(connection)
    assert connection.sock is first_socket  # the same connection, still open
    idle_since = time.monotonic()

    assert first_socket.recv(1) == b""  # then the server closes it
    assert 1.5 < time.monotonic() - idle_since < 4
    connection.close()
