"""Taking a process's listening port first, before it starts any other work.

uvicorn binds only after the application has started, so a port in use was
found out after background work (a broker connection, a relay) was already
under way, and had to be unwound from the middle. Binding first turns a port
in use into one clear error, raised before anything else runs.
"""

from __future__ import annotations

import os
import socket

# uvicorn's own default, so the socket behaves as the one it would have made.
BACKLOG = 2048


class PortUnavailable(Exception):
    """The port cannot be listened on (in use, not allowed, or a host that does not resolve)."""


def listen(host: str, port: int, setting: str) -> socket.socket:
    """A socket listening on host:port; `setting` names where the port came from, for the error."""
    where = f"cannot listen on {host}:{port} ({setting}={port})"
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    except socket.gaierror as error:
        raise PortUnavailable(f"{where}: {error.strerror}") from error
    try:
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
    except OSError as error:
        # create_server's own message repeats the address; the errno's text is enough.
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise PortUnavailable(f"{where}: {reason.lower()}") from error
