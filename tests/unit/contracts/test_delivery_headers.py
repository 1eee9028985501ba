"""The `x-offload-*` headers a consumer acts on: any value of any type is either in range or refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import headers
from contracts.bounds import MAX_ATTEMPT, MAX_HISTORY, MAX_HISTORY_LINE, MAX_REPLAYS
from contracts.headers import DeliveryHeaders, delivery_headers_or_defaults, read_delivery_headers
from support.header_values import values

# On a shared machine generation can be slow: judge the property, not the speed.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

header_names = st.sampled_from([headers.REPLAYS, headers.ATTEMPT, headers.HISTORY, "replays", "x-other"])


def in_range(parsed: DeliveryHeaders) -> bool:
    return (
        type(parsed.replays) is int
        and 0 <= parsed.replays <= MAX_REPLAYS
        and (parsed.attempt is None or (type(parsed.attempt) is int and 1 <= parsed.attempt <= MAX_ATTEMPT))
        and len(parsed.history) <= MAX_HISTORY
        and all(type(line) is str and len(line) <= MAX_HISTORY_LINE for line in parsed.history)
    )


# A table of headers, and whatever else a client could pass where the table belongs.
@pytest.mark.parametrize("raw_headers", [st.dictionaries(header_names, values), values], ids=["table", "not-a-table"])
@relaxed
@given(data=st.data())
def test_any_headers_are_either_in_range_or_refused(raw_headers, data):
    raw = data.draw(raw_headers)
    try:
        parsed = read_delivery_headers(raw)
    except ValidationError:
        return
    assert in_range(parsed)


@relaxed
@given(st.dictionaries(header_names, values))
def test_the_lenient_reader_never_refuses_and_keeps_what_is_valid(raw):
    lenient = delivery_headers_or_defaults(raw)
    assert in_range(lenient)
    try:
        assert lenient == read_delivery_headers(raw)
    except ValidationError:
        pass


BAD_REPLAYS = ["abc", -5, "100000000000000000000", 10**20, MAX_REPLAYS + 1, "3", 3.0, True, None, Decimal(3), b"3", [3]]
BAD_ATTEMPTS = [0, -1, MAX_ATTEMPT + 1, 2**63, "2", 1.0]
BAD_HISTORIES = [7, "one line", ["x" * (MAX_HISTORY_LINE + 1)], ["a"] * (MAX_HISTORY + 1), [b"bytes"], [None]]
BAD_VALUES = {headers.REPLAYS: BAD_REPLAYS, headers.ATTEMPT: BAD_ATTEMPTS, headers.HISTORY: BAD_HISTORIES}


@pytest.mark.parametrize("header, value", [(header, value) for header, bad in BAD_VALUES.items() for value in bad])
def test_a_bad_value_is_refused_naming_its_header(header, value):
    with pytest.raises(ValidationError, match=header):
        read_delivery_headers({header: value})


def test_good_headers_are_read_and_others_ignored():
    parsed = read_delivery_headers(
        {
            headers.REPLAYS: 2,
            headers.ATTEMPT: 3,
            headers.HISTORY: ["attempt 1: OSError: down"],
            headers.FAILED_AT: datetime.now(UTC),
            "replays": "not ours",
            "x-death": [{"count": "whatever"}],
        }
    )
    assert (parsed.replays, parsed.attempt, parsed.history) == (2, 3, ["attempt 1: OSError: down"])
    assert read_delivery_headers(None) == read_delivery_headers({}) == DeliveryHeaders()


def test_the_lenient_reader_drops_only_the_bad_header():
    lenient = delivery_headers_or_defaults({headers.REPLAYS: "abc", headers.ATTEMPT: 4})
    assert (lenient.replays, lenient.attempt) == (0, 4)
