"""Where a request's own URL may lead: the guard against server-side request forgery.

Webhook URLs and Web Push endpoints come from whoever calls the API, so the
service must not become their way into the private network. Two checks, both
before any connection to the target is made:

- the URL: https only, unless an allowlist entry names its exact host *and*
  port (a local receiver); the host on the allowlist when there is one;
  no cloud metadata names;
- every address the host resolves to, at connect time: public only, except
  for an exact `host:port` entry of the allowlist; metadata addresses never.
  An address is judged by where it leads, not by how it is written: an IPv6
  address that carries an IPv4 one (mapped, translated, compatible, NAT64,
  6to4, Teredo) is public only if both are.

The address check runs in the HTTP client's resolver, whose answer is the
very list of addresses the connector then connects to, so a DNS answer cannot
change between the check and the connection (no rebinding window); an address
written in the URL is never resolved, so it is checked with the URL. The URL
keeps its host name, so the Host header, TLS SNI and certificate check stay
those of the host.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

import structlog
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

log = structlog.get_logger("offload.notify.destinations")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata services: credentials live there, so they stay
# refused even when an allowlist entry would otherwise let a private address through.
METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.169.253",
        "100.100.100.200",
        "192.0.0.192",  # Oracle Cloud (classic)
        "fd00:ec2::254",
    )
)
# IPv6 transition forms whose last 32 bits are an IPv4 address.
_IPV4_IN_LAST_32_BITS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "::ffff:0:0/96",  # IPv4-mapped: a dual-stack socket connects to the IPv4 address itself
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "::/96",  # IPv4-compatible (deprecated)
        "64:ff9b::/96",  # NAT64, the well-known prefix (RFC 6052)
    )
)
# NAT64 local-use prefix (RFC 8215): a network's own translator, of any prefix length up to /96.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
# RFC 6052: the octets that hold the IPv4 address under a NAT64 prefix of each length (octet 8 is zero).
_RFC6052_OCTETS = {48: (6, 7, 9, 10), 56: (7, 9, 10, 11), 64: (9, 10, 11, 12), 96: (12, 13, 14, 15)}
# Not globally reachable, though `ipaddress.is_global` says otherwise in some Python versions
# (3.11 calls 192.0.0.8, fec0::1 and ::127.0.0.1 global).
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(network)
    for network in (
        # IETF protocol assignments (RFC 6890); its two anycast services (192.0.0.9, .10) are no webhook.
        "192.0.0.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated, RFC 7526)
        "::/96",  # IPv4-compatible (deprecated, RFC 4291)
        "::ffff:0:0:0/96",  # IPv4-translated: a translator's own, never a destination on the Internet
        "64:ff9b:1::/48",  # NAT64 local use (RFC 8215)
        "fec0::/10",  # site-local (deprecated, RFC 3879), still routed inside some sites
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 segment identifiers (RFC 9602)
    )
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedDestination(Exception):
    """The URL or the address it resolves to is not one the service may call."""


@dataclass(frozen=True)
class AllowedHost:
    """One allowlist entry: `host`, `*.domain`, or `host:port`."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, entry: str) -> AllowedHost:
        text = entry.strip().lower()
        try:
            url = URL(f"http://{text}")
        except ValueError as error:
            raise ValueError(f"not a host or host:port: {entry!r}") from error
        if not url.host or "/" in text or "@" in text or "?" in text or "#" in text:
            raise ValueError(f"not a host or host:port: {entry!r}")
        return cls(url.host, url.explicit_port)

    def matches(self, host: str, port: int) -> bool:
        # A bare host means its https port: another port must be named.
        if port != (self.port or _DEFAULT_PORTS["https"]):
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host

    @property
    def is_exact(self) -> bool:
        """Names one host and one port: trusted with plain http and private addresses."""
        return self.port is not None and not self.host.startswith("*.")


@dataclass(frozen=True)
class DestinationPolicy:
    """What the service may call. An empty allowlist allows any public https host."""

    allowed: tuple[AllowedHost, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> DestinationPolicy:
        return cls(tuple(AllowedHost.parse(entry) for entry in entries if entry.strip()))

    def check_url(self, url: URL | str) -> None:
        """Refuse a URL by its form (scheme, host, allowlist), and by its address when it names one."""
        url = URL(url)
        host = (url.host or "").lower().rstrip(".")
        if url.scheme not in _DEFAULT_PORTS or not host:
            raise RefusedDestination(f"not an http(s) URL: {url.scheme}://{host}")
        if host in METADATA_HOSTS:
            raise RefusedDestination(f"{host} is a cloud metadata service")
        port = url.explicit_port or _DEFAULT_PORTS[url.scheme]
        entry = self._entry_for(host, port)
        if self.allowed and entry is None:
            raise RefusedDestination(f"{host}:{port} is not in NOTIFY_ALLOWED_HOSTS")
        if url.scheme == "http" and (entry is None or not entry.is_exact):
            raise RefusedDestination(
                f"plain http to {host}:{port} refused: only an allowlist entry naming that host and port allows it"
            )
        # An address in the URL is connected to as it is, without asking the resolver.
        literal = _address_in(host)
        if literal is not None:
            self.check_address(host, port, literal)

    def check_address(self, host: str, port: int, address: IPAddress) -> None:
        """Refuse an address the host resolved to, unless it is public or exactly allowlisted."""
        if _is_metadata(address):
            _refuse(host, port, address, "a cloud metadata address")
        if is_public(address):
            return
        entry = self._entry_for(host.lower().rstrip("."), port)
        if entry is None or not entry.is_exact:
            _refuse(host, port, address, "a non-public address")

    def _entry_for(self, host: str, port: int) -> AllowedHost | None:
        # The most specific entry wins: host:port over a bare host.
        matching = [entry for entry in self.allowed if entry.matches(host, port)]
        return max(matching, key=lambda entry: entry.is_exact, default=None)


def _refuse(host: str, port: int, address: IPAddress, what: str) -> NoReturn:
    # The requester learns why in general terms, never the address: that would
    # tell them what internal names resolve to. Operators get it in the log.
    log.warning("destination refused", host=host, port=port, address=str(address), reason=what)
    verb = "is" if _address_in(host) is not None else "resolves to"
    raise RefusedDestination(f"{host} {verb} {what}")


def _address_in(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None


def embedded_ipv4s(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """Every IPv4 address an IPv6 one carries by a transition mechanism: where a packet to it may really go."""
    if isinstance(address, ipaddress.IPv4Address):
        return ()
    found: list[ipaddress.IPv4Address] = []
    if any(address in network for network in _IPV4_IN_LAST_32_BITS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address in _LOCAL_NAT64:
        # The operator picks the prefix length, so the IPv4 may sit at any of its places.
        found.extend(
            ipaddress.IPv4Address(bytes(address.packed[i] for i in octets)) for octets in _RFC6052_OCTETS.values()
        )
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # the server's address, and the client's (stored bit-inverted)
    return tuple(found)


def is_public(address: IPAddress) -> bool:
    """Globally reachable: the address itself, and every IPv4 address it carries."""
    return all(_is_global(each) for each in (address, *embedded_ipv4s(address)))


def _is_global(address: IPAddress) -> bool:
    if not address.is_global or address.is_multicast:
        return False
    return not any(address in network for network in _NOT_GLOBAL)


def _is_metadata(address: IPAddress) -> bool:
    return any(each in METADATA_ADDRESSES for each in (address, *embedded_ipv4s(address)))


class GuardedResolver(AbstractResolver):
    """Resolves each host, checks every address, and hands the connector only checked ones."""

    def __init__(self, policy: DestinationPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        # Every address is checked, not just the first: a name that resolves to one
        # public and one private address is refused as a whole.
        for result in results:
            self._policy.check_address(host, port, ipaddress.ip_address(result["host"].split("%")[0]))
        if not results:
            raise OSError(f"{host} resolved to no address")
        return results

    async def close(self) -> None:
        await self._inner.close()
