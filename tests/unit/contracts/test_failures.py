"""A failure record reads back as it was written, and any headers read as some record."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import bounds, headers
from contracts.events import DeadLetterReason
from contracts.failures import MAX_REASON, MAX_ROUTING_KEY, FailureRecord
from support.header_values import header_tables as any_headers

relaxed = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def texts(low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(min_size=low, max_size=high)


moments = st.datetimes(timezones=st.just(UTC))
records = st.builds(
    FailureRecord,
    reason=st.sampled_from([reason.value for reason in DeadLetterReason]) | texts(1, MAX_REASON),
    error_type=st.none() | texts(0, bounds.MAX_ERROR_TYPE),
    error_message=st.none() | texts(0, bounds.MAX_ERROR_TEXT),
    attempts=st.none() | st.integers(1, bounds.MAX_ATTEMPT),
    routing_key=st.none() | texts(0, MAX_ROUTING_KEY),
    service=st.none() | texts(0, bounds.MAX_SERVICE_NAME),
    failed_at=st.none() | moments,
    first_failed_at=st.none() | moments,
    history=st.lists(texts(0, bounds.MAX_HISTORY_LINE), max_size=bounds.MAX_HISTORY),
)

header_tables = any_headers(list(FailureRecord.model_json_schema(by_alias=True)["properties"]))


@relaxed
@given(records)
def test_any_record_within_bounds_reads_back_as_written(record):
    assert FailureRecord.from_headers(record.to_headers()) == record


@relaxed
@given(header_tables)
def test_any_headers_read_as_a_record_within_bounds(table):
    record = FailureRecord.from_headers(table)

    assert FailureRecord.from_headers(record.to_headers()) == record
    assert 1 <= len(record.reason) <= MAX_REASON


def test_the_headers_are_those_the_consumer_has_always_written():
    failed_at = datetime(2026, 1, 1, 12, 0, 7, 500000, tzinfo=UTC)
    record = FailureRecord(
        reason=DeadLetterReason.permanent_error.value,
        error_type="PermanentError",
        error_message="550 no such user",
        attempts=3,
        routing_key="email.requested",
        service="email",
        failed_at=failed_at,
        first_failed_at=failed_at,
        history=["attempt 1: OSError: x"],
    )
    assert record.to_headers() == {
        headers.REASON: "permanent_error",
        headers.ERROR_TYPE: "PermanentError",
        headers.ERROR_MESSAGE: "550 no such user",
        headers.ATTEMPTS: 3,
        headers.ROUTING_KEY: "email.requested",
        headers.SERVICE: "email",
        headers.FAILED_AT: failed_at.isoformat(),
        headers.FIRST_FAILED_AT: failed_at.isoformat(),
        headers.HISTORY: ["attempt 1: OSError: x"],
    }


def test_texts_and_history_beyond_their_bounds_are_cut_not_refused():
    record = FailureRecord(
        reason="r" * 100,
        error_type="T" * 1000,
        error_message="m" * 10_000,
        history=[f"line {n}" + "x" * 1000 for n in range(50)],
    )
    assert len(record.reason) == MAX_REASON
    assert len(record.error_type) == bounds.MAX_ERROR_TYPE and len(record.error_message) == bounds.MAX_ERROR_TEXT
    assert len(record.history) == bounds.MAX_HISTORY and record.history[0].startswith("line 30")
    assert all(len(line) == bounds.MAX_HISTORY_LINE for line in record.history)


def test_a_count_out_of_bounds_reads_as_missing():
    for count in (0, -1, bounds.MAX_ATTEMPT + 1, 2**63 - 1, True, 2.0, "3"):
        assert FailureRecord.from_headers({headers.REASON: "x", headers.ATTEMPTS: count}).attempts is None
