"""The SSRF guard against every IPv6 spelling of an IPv4 address, as properties over generated addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notify_service.destinations import DestinationPolicy, RefusedDestination, is_public

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address

NON_GLOBAL_IPV4_NETWORKS = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
]


@st.composite
def non_global_ipv4(draw: st.DrawFn) -> IPv4:
    network = ipaddress.ip_network(draw(st.sampled_from(NON_GLOBAL_IPV4_NETWORKS)))
    offset = draw(st.integers(0, network.num_addresses - 1))
    return network[offset]


global_ipv4 = st.integers(0, 2**32 - 1).map(IPv4).filter(is_public)
bits = st.integers(0, 2**32 - 1)


def ipv6(high: int, ipv4: IPv4, low_shift: int = 0) -> IPv6:
    return IPv6(high | (int(ipv4) << low_shift))


def rfc6052(prefix_length: int, ipv4: IPv4) -> IPv6:
    """The IPv4 address under the NAT64 local-use prefix 64:ff9b:1::/48, as a translator of that length writes it."""
    octets = {48: (6, 7, 9, 10), 56: (7, 9, 10, 11), 64: (9, 10, 11, 12), 96: (12, 13, 14, 15)}[prefix_length]
    packed = bytearray(IPv6("64:ff9b:1::").packed)
    for place, value in zip(octets, ipv4.packed, strict=True):
        packed[place] = value
    return IPv6(bytes(packed))


# Forms a packet to which reaches the IPv4 address itself (a socket, a NAT64 or 6to4 gateway).
ROUTED_FORMS: dict[str, Callable[[IPv4, int], IPv6]] = {
    "mapped ::ffff:0:0/96": lambda v4, _: ipv6(0xFFFF << 32, v4),
    "NAT64 64:ff9b::/96": lambda v4, _: ipv6(0x64FF9B << 96, v4),
    "6to4 2002::/16": lambda v4, rest: ipv6((0x2002 << 112) | (rest << 32), v4, 80),
}
# Forms that are not acceptable whatever they carry: deprecated, local-use or not globally routed.
UNROUTED_FORMS: dict[str, Callable[[IPv4, int], IPv6]] = {
    "translated ::ffff:0:0:0/96": lambda v4, _: ipv6(0xFFFF << 48, v4),
    "compatible ::/96": lambda v4, _: ipv6(0, v4),
    "NAT64 local use /48": lambda v4, _: rfc6052(48, v4),
    "NAT64 local use /56": lambda v4, _: rfc6052(56, v4),
    "NAT64 local use /64": lambda v4, _: rfc6052(64, v4),
    "NAT64 local use /96": lambda v4, _: rfc6052(96, v4),
    "Teredo server": lambda v4, client: ipv6((0x20010000 << 96) | client, v4, 64),
    "Teredo client": lambda v4, server: ipv6((0x20010000 << 96) | (server << 64), IPv4(~int(v4) & 0xFFFFFFFF)),
}
EVERY_FORM = {**ROUTED_FORMS, **UNROUTED_FORMS}


def refused(address: ipaddress.IPv4Address | IPv6) -> bool:
    try:
        DestinationPolicy().check_address("hooks.example.com", 443, address)
    except RefusedDestination:
        return True
    return False


@pytest.mark.parametrize("form", EVERY_FORM)
@given(ipv4=non_global_ipv4(), other_bits=bits)
def test_every_ipv6_form_of_a_non_global_ipv4_is_refused(form, ipv4, other_bits):
    assert refused(ipv4)
    assert refused(EVERY_FORM[form](ipv4, other_bits))


@pytest.mark.parametrize("form", ROUTED_FORMS)
@given(ipv4=global_ipv4, other_bits=bits)
def test_the_routed_forms_of_a_global_ipv4_are_allowed(form, ipv4, other_bits):
    assert not refused(ipv4)
    assert not refused(ROUTED_FORMS[form](ipv4, other_bits))


@pytest.mark.parametrize("form", UNROUTED_FORMS)
@given(ipv4=global_ipv4, other_bits=bits)
def test_the_unrouted_forms_are_refused_even_for_a_global_ipv4(form, ipv4, other_bits):
    assert refused(UNROUTED_FORMS[form](ipv4, other_bits))


@given(ipv4=non_global_ipv4())
def test_a_non_global_ipv4_written_as_an_ipv6_literal_url_is_refused_before_any_connection(ipv4):
    for form in EVERY_FORM.values():
        with pytest.raises(RefusedDestination):
            DestinationPolicy().check_url(f"https://[{form(ipv4, 0)}]:9911/")
