"""The SSRF guard: refused URLs and addresses never get a connection."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest
from aiohttp.abc import AbstractResolver
from structlog.testing import capture_logs

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
        "https://[::127.0.0.1]:{port}/",  # IPv4-compatible
        "https://[::ffff:0:7f00:1]:{port}/",  # IPv4-translated
        "https://[64:ff9b::7f00:1]:{port}/",  # NAT64
        "https://[64:ff9b:1::7f00:1]:{port}/",  # NAT64 local use, /96
        "https://[64:ff9b:1:7f00:0:100::]:{port}/",  # NAT64 local use, /48
        "https://[2002:7f00:1::1]:{port}/",  # 6to4
        "https://[2001:0:7f00:1::]:{port}/",  # Teredo server
        "https://[2001::80ff:fffe]:{port}/",  # Teredo client (bit-inverted)
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
        ("https://10.0.0.1/", "a non-public address"),
        ("https://192.168.1.10/", "a non-public address"),
        ("https://172.16.5.4/", "a non-public address"),
        ("https://100.64.0.1/", "a non-public address"),
        ("https://0.0.0.0/", "a non-public address"),
        ("https://[fd12::1]/", "a non-public address"),
        ("https://[fe80::1]/", "a non-public address"),
        ("https://[::1]/", "a non-public address"),
        ("https://[64:ff9b::a00:1]/", "a non-public address"),
        ("https://[2002:c0a8:101::]/", "a non-public address"),
        ("https://[fec0::1]/", "a non-public address"),
        ("https://[::a9fe:a9fe]/", "metadata"),
        ("https://192.0.0.8/", "a non-public address"),
        ("ftp://example.com/", "not an http"),
        ("http://example.com/", "plain http"),
    ],
)
async def test_private_metadata_and_plain_http_destinations_are_refused(url, reason):
    with pytest.raises(RefusedDestination, match=reason):
        await attempt(DestinationPolicy(), url)


# 169.254.169.254 in every IPv6 form that carries an IPv4 address.
METADATA_SPELLINGS = [
    "169.254.169.254",
    "::ffff:169.254.169.254",  # IPv4-mapped
    "::ffff:0:a9fe:a9fe",  # IPv4-translated
    "::a9fe:a9fe",  # IPv4-compatible
    "64:ff9b::a9fe:a9fe",  # NAT64
    "64:ff9b:1::a9fe:a9fe",  # NAT64 local use, /96
    "64:ff9b:1:a9fe:a9:fe00::",  # NAT64 local use, /48
    "64:ff9b:1:0:a9:fea9:fe00:0",  # NAT64 local use, /64
    "2002:a9fe:a9fe::1",  # 6to4
    "2001:0:a9fe:a9fe::",  # Teredo server
    "2001::5601:5601",  # Teredo client, bit-inverted
    "fd00:ec2::254",
    "100.100.100.200",
]


@pytest.mark.parametrize("address", METADATA_SPELLINGS)
def test_metadata_addresses_stay_refused_in_every_spelling_even_when_allowlisted(address):
    policy = DestinationPolicy.from_entries(["vm:80", "169.254.169.254:80"])

    with pytest.raises(RefusedDestination, match="cloud metadata address"):
        policy.check_address("vm", 80, ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "::10.0.0.1",
        "::ffff:0:a00:1",
        "64:ff9b:1::a00:1",
        "::127.0.0.1",
        "::ffff:0:7f00:1",
        "64:ff9b:1::7f00:1",
        "fec0::1",
        "fec0:1234::5",
        "feff::1",  # site-local reaches fec0::/10's end
        "192.0.0.8",
        "192.0.0.9",
        "192.0.0.170",
        "192.88.99.1",
        "100.64.0.1",
        "100.127.255.254",
        "64:ff9b:1::808:808",  # a local translator, whatever it carries
        "::808:808",  # IPv4-compatible: deprecated, whatever it carries
        "::ffff:0:808:808",  # IPv4-translated: never a destination
        "2001::1",  # Teredo
        "3fff::1",
        "5f00::1",
        "224.0.0.1",
        "ff0e::1",
    ],
)
def test_non_public_addresses_are_refused_by_what_they_mean(address):
    with pytest.raises(RefusedDestination, match="resolves to a non-public address"):
        DestinationPolicy().check_address("hooks.example.com", 443, ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:4860:4860::8888", "2606:4700::1111"],
)
def test_public_addresses_and_the_routed_forms_of_public_ipv4_are_allowed(address):
    DestinationPolicy().check_address("hooks.example.com", 443, ipaddress.ip_address(address))


def test_an_exact_allowlist_entry_still_reaches_its_private_address_in_any_spelling():
    policy = DestinationPolicy.from_entries(["receiver.internal:9000"])

    for address in ("10.1.2.3", "::ffff:10.1.2.3", "64:ff9b::a01:203", "fd12::1"):
        policy.check_address("receiver.internal", 9000, ipaddress.ip_address(address))


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
    with pytest.raises(RefusedDestination, match="a non-public address"):
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

    with pytest.raises(RefusedDestination, match="non-public address"):
        await mixed.resolve("hooks.example.com", 443)
    # What the connector gets is what was checked.
    assert [r["host"] for r in await public.resolve("hooks.example.com", 443)] == ["93.184.215.14"]


@pytest.mark.parametrize(("address", "reason"), [("127.0.0.1", "non-public"), ("169.254.169.254", "metadata")])
async def test_a_refusal_does_not_tell_the_requester_what_a_name_resolves_to(address, reason):
    resolver = GuardedResolver(DestinationPolicy(), FixedAnswer(address))

    with capture_logs() as logs, pytest.raises(RefusedDestination) as refused:
        await resolver.resolve("vm", 443)

    assert reason in str(refused.value)
    assert address not in str(refused.value) and "169.254" not in str(refused.value)
    # Operators still see it.
    [entry] = [e for e in logs if e["event"] == "destination refused"]
    assert entry["host"] == "vm" and entry["address"] == address


async def test_a_refused_name_never_reaches_the_job_error_with_its_address(listener):
    policy = DestinationPolicy.from_entries([])
    port = listener.getsockname()[1]

    with pytest.raises(RefusedDestination) as refused:
        await attempt(policy, f"https://localhost:{port}/")

    assert str(refused.value) == "localhost resolves to a non-public address"
