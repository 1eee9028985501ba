"""The SSRF guard: refused URLs and addresses never get a connection."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest
from aiohttp.abc import AbstractResolver

from notify_service.client import Unreachable, pooled_client
from notify_service.destinations import AllowedHost, DestinationPolicy, GuardedResolver, RefusedDestination


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback socket that would see any connection the guard let through."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


def connections_seen(listener: socket.socket) -> int:
    """Connections the listener got before a marker connection made now (no waiting involved)."""
    marker = socket.create_connection(listener.getsockname())
    seen = 0
    with marker:
        while True:
            conn, peer = listener.accept()
            conn.close()
            if peer == marker.getsockname():
                return seen
            seen += 1


async def attempt(policy: DestinationPolicy, url: str) -> None:
    async with pooled_client(4, 2, policy) as client:
        await client.post(url, body=b"{}")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "https://127.0.0.1:{port}/",
        "https://localhost:{port}/",
        "https://2130706433:{port}/",
        "https://0x7f000001:{port}/",
        "https://0177.0.0.1:{port}/",
        "https://127.1:{port}/",
        "https://[::ffff:127.0.0.1]:{port}/",
        "http://[::ffff:7f00:1]:{port}/",
    ],
)
async def test_loopback_in_any_spelling_is_refused_without_a_connection(listener, url):
    port = listener.getsockname()[1]

    # aiohttp itself refuses some spellings (not canonical IPv4): refused as well, no connection either.
    with pytest.raises(RefusedDestination):
        await attempt(DestinationPolicy(), url.format(port=port))

    assert connections_seen(listener) == 0


async def test_an_exact_allowlist_entry_lets_through_that_host_and_port_only(listener):
    port = listener.getsockname()[1]
    other = socket.create_server(("127.0.0.1", 0))
    policy = DestinationPolicy.from_entries([f"127.0.0.1:{other.getsockname()[1]}"])

    with pytest.raises(RefusedDestination, match="not in NOTIFY_ALLOWED_HOSTS"):
        await attempt(policy, f"http://127.0.0.1:{port}/")
    with pytest.raises(RefusedDestination):
        await attempt(policy, f"http://localhost:{other.getsockname()[1]}/")  # same port, other name
    assert connections_seen(listener) == 0

    with pytest.raises(Unreachable, match="timed out"):  # connected: the listener never answers
        async with pooled_client(1, 0.2, policy) as client:
            await client.post(f"http://127.0.0.1:{other.getsockname()[1]}/")
    assert connections_seen(other) == 1
    other.close()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:5672/", "plain http"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://169.254.169.254/", "plain http"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://metadata/", "metadata"),
        ("https://10.0.0.1/", "not a public address"),
        ("https://192.168.1.10/", "not a public address"),
        ("https://172.16.5.4/", "not a public address"),
        ("https://100.64.0.1/", "not a public address"),
        ("https://0.0.0.0/", "not a public address"),
        ("https://[fd12::1]/", "not a public address"),
        ("https://[fe80::1]/", "not a public address"),
        ("https://[::1]/", "not a public address"),
        ("https://[64:ff9b::a00:1]/", "not a public address"),
        ("https://[2002:c0a8:101::]/", "not a public address"),
        ("ftp://example.com/", "not an http"),
        ("http://example.com/", "plain http"),
    ],
)
async def test_private_metadata_and_plain_http_destinations_are_refused(url, reason):
    with pytest.raises(RefusedDestination, match=reason):
        await attempt(DestinationPolicy(), url)


def test_metadata_addresses_stay_refused_even_when_allowlisted():
    policy = DestinationPolicy.from_entries(["169.254.169.254:80"])

    with pytest.raises(RefusedDestination, match="metadata"):
        policy.check_address("169.254.169.254", 80, ipaddress.ip_address("169.254.169.254"))
    with pytest.raises(RefusedDestination, match="metadata"):
        policy.check_address("x", 80, ipaddress.ip_address("::ffff:169.254.169.254"))


def test_an_allowlist_restricts_public_hosts_too():
    policy = DestinationPolicy.from_entries(["hooks.example.com", "*.push.example.net"])

    policy.check_url("https://hooks.example.com/offload")
    policy.check_url("https://eu.push.example.net/sub/1")
    with pytest.raises(RefusedDestination, match="not in NOTIFY_ALLOWED_HOSTS"):
        policy.check_url("https://evil.example.org/")
    with pytest.raises(RefusedDestination, match="not in NOTIFY_ALLOWED_HOSTS"):
        policy.check_url("https://hooks.example.com:8443/")  # a bare host means the https port
    with pytest.raises(RefusedDestination, match="not in NOTIFY_ALLOWED_HOSTS"):
        policy.check_url("http://hooks.example.com/")  # port 80: not the entry's
    # A public address is fine for a bare host; a private one needs an exact entry.
    policy.check_address("hooks.example.com", 443, ipaddress.ip_address("93.184.215.14"))
    with pytest.raises(RefusedDestination, match="not a public address"):
        policy.check_address("hooks.example.com", 443, ipaddress.ip_address("10.1.2.3"))


@pytest.mark.parametrize("entry", ["http://x.example.com", "x.example.com/path", "user@x.example.com", ""])
def test_malformed_allowlist_entries_are_refused(entry):
    with pytest.raises(ValueError):
        AllowedHost.parse(entry)


class FixedAnswer(AbstractResolver):
    """A DNS answer chosen by the test, as an attacker's name server would choose it."""

    def __init__(self, *addresses: str) -> None:
        self._addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list:
        return [
            {"hostname": host, "host": a, "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}
            for a in self._addresses
        ]

    async def close(self) -> None:
        pass


async def test_an_answer_with_one_private_address_is_refused_as_a_whole():
    mixed = GuardedResolver(DestinationPolicy(), FixedAnswer("93.184.215.14", "10.0.0.5"))
    public = GuardedResolver(DestinationPolicy(), FixedAnswer("93.184.215.14"))

    with pytest.raises(RefusedDestination, match="10.0.0.5"):
        await mixed.resolve("hooks.example.com", 443)
    # What the connector gets is what was checked.
    assert [r["host"] for r in await public.resolve("hooks.example.com", 443)] == ["93.184.215.14"]
