"""A dead letter is read whatever its body and headers: nothing in a queue can break the listing."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import headers
from contracts.bounds import MAX_ERROR_TEXT, MAX_HISTORY, MAX_HISTORY_LINE, MAX_INT64
from gateway.dead_letters import DeadLetter, DeadLetterListing
from runtime.tries import TriesInBody
from support.header_values import header_tables as any_headers

# On a shared machine generation can be slow: judge the property, not the speed.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

header_tables = any_headers(
    [
        headers.REASON,
        headers.ERROR_TYPE,
        headers.ERROR_MESSAGE,
        headers.ATTEMPTS,
        headers.ROUTING_KEY,
        headers.FAILED_AT,
        headers.HISTORY,
        headers.FIRST_FAILED_AT,
        headers.REPLAYS,
        headers.ATTEMPT,
    ]
)
bodies = st.binary(max_size=200) | st.sampled_from([b"[" * 100_000, b'{"a":' * 50_000, b"1" * 5000])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies, header_tables, st.none() | st.text(max_size=10))
def test_any_letter_is_read_and_can_be_shown(body, table, message_id):
    letter = DeadLetter.from_parts("email", body=body, headers=table, message_id=message_id)

    assert letter.reason and len(letter.reason) <= 64
    assert letter.error_message is None or len(letter.error_message) <= MAX_ERROR_TEXT
    assert len(letter.history) <= MAX_HISTORY and all(len(line) <= MAX_HISTORY_LINE for line in letter.history)
    assert letter.attempts is None or abs(letter.attempts) <= MAX_INT64
    assert 0 <= letter.replays
    json.loads(DeadLetterListing.of([letter]).model_dump_json())


def test_wrong_types_are_shown_as_missing_not_as_errors():
    letter = DeadLetter.from_parts(
        "email",
        body=b"{" * 100_000,
        headers={
            headers.REASON: "permanent_error",
            headers.ATTEMPTS: float("inf"),
            headers.HISTORY: 7,
            headers.REPLAYS: "100000000000000000000",
            headers.FAILED_AT: "yesterday",
        },
        message_id=None,
    )
    assert (letter.attempts, letter.replays, letter.last_failed_at) == (None, 0, None)
    assert letter.history == ["7"]  # one line rather than none
    assert letter.job_id is None


def test_a_broker_dead_letter_with_a_malformed_x_death():
    for x_death in ("garbage", [1, 2], [{"count": "x", "routing-keys": "abc", "time": 5}]):
        letter = DeadLetter.from_parts("email", body=b"", headers={"x-death": x_death}, message_id="m")
        assert letter.attempts is None and letter.routing_key is None


def test_history_lines_of_any_type_are_shown_as_text():
    letter = DeadLetter.from_parts(
        "email", body=b"", headers={headers.HISTORY: [b"bytes \xff", 3, datetime(2024, 1, 1)]}, message_id="m"
    )
    assert letter.history[0] == "bytes \ufffd" and letter.history[1] == "3"


def test_a_deep_body_is_replayed_untouched():
    body = b'{"attempt": 3, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert TriesInBody().first_try(body, {})[0] is body
    shallow = json.dumps({"job_id": str(uuid4()), "attempt": 3}).encode()
    assert json.loads(TriesInBody().first_try(shallow, {})[0])["attempt"] == 1
