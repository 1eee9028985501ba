"""Bodies off the wire: nesting is measured without recursion, and too deep is refused before parsing."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.bounds import MAX_JSON_DEPTH
from runtime.decode import InvalidMessage, job_id_in, json_depth, parse_json, refuse_deep_nesting

# On a shared machine generation can be slow: judge the property, not the speed.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=40,
)


def depth_of(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


@relaxed
@given(json_values, st.booleans())
def test_json_depth_agrees_with_the_parsed_value(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert json_depth(body) == depth_of(value)


def deep(levels: int, job_id: str | None = None) -> bytes:
    prefix = f'{{"job_id": "{job_id}", "x": ' if job_id else '{"x": '
    return (prefix + "[" * levels + "]" * levels + "}").encode()


def test_a_100000_deep_body_is_refused_without_recursion():
    with pytest.raises(InvalidMessage, match="nested 100001 levels deep; at most 64"):
        refuse_deep_nesting(deep(100_000))
    with pytest.raises(ValueError, match="nested"):
        parse_json(deep(100_000))


def test_nesting_up_to_the_limit_is_parsed():
    body = deep(MAX_JSON_DEPTH - 1)
    refuse_deep_nesting(body)
    assert depth_of(parse_json(body)) == MAX_JSON_DEPTH


def test_brackets_inside_strings_do_not_count():
    body = json.dumps({"text": "[" * 1000 + '\\"{' * 500}).encode()
    assert json_depth(body) == 1
    refuse_deep_nesting(body)


@pytest.mark.parametrize("levels", [10, 100_000])
def test_the_job_of_a_deep_message_is_still_found(levels):
    job_id = uuid4()
    assert job_id_in(deep(levels, str(job_id))) == job_id


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[" * 100_000,
        b'{"x": [' + b"{" * 100_000,
        b'["job_id", "6d1c0000-0000-0000-0000-000000000000"]',
        b'{"a": {"job_id": "6d1c0000-0000-0000-0000-000000000000"}}',
        b'{"job_id": 5}',
        b'{"job_id": "not a uuid"}',
        b"\xff\xfe",
        b"1" * 5000,
    ],
)
def test_no_job_id_in_a_body_that_names_none_at_its_top(body):
    assert job_id_in(body) is None
