"""Every number and text a message carries is bounded in the contracts, so the job store can record it."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.bounds import MAX_ATTEMPT, MAX_ERROR_TEXT, MAX_INT64, MAX_REPLAYS, MAX_RETRY_SECONDS
from contracts.events import (
    FROM_THE_WIRE,
    EmailRequested,
    ErrorInfo,
    JobRetryScheduled,
    JobStatusEvent,
    JobSucceeded,
    Progress,
    TaskType,
)


def wire_email(**fields) -> bytes:
    event = json.loads(EmailRequested(to=["ada@example.com"], subject="Hi", text="Hello").model_dump_json())
    return json.dumps({**event, **fields}).encode()


@pytest.mark.parametrize("attempt", ["1e30", "1001", "9223372036854775808", "0", "1.5"])
def test_an_attempt_out_of_bounds_is_refused(attempt):
    body = wire_email().replace(b'"attempt": 1', b'"attempt": ' + attempt.encode())
    with pytest.raises(ValidationError, match="attempt"):
        TypeAdapter(EmailRequested).validate_json(body, context=FROM_THE_WIRE)


def test_the_largest_attempt_is_accepted():
    assert EmailRequested.model_validate_json(wire_email(attempt=MAX_ATTEMPT)).attempt == MAX_ATTEMPT


def status(**fields):
    return {"task_type": TaskType.email, "service": "email", **fields}


@pytest.mark.parametrize(
    "fields",
    [
        {"replay": MAX_REPLAYS + 1},
        {"replay": -1},
        {"attempt": 10**30},
        {"service": "x" * 65},
        {"service": "Email Service"},
        {"service": ""},
    ],
)
def test_status_event_fields_out_of_bounds_are_refused(fields):
    with pytest.raises(ValidationError):
        JobSucceeded(**status(**fields))


@pytest.mark.parametrize("seconds", [MAX_RETRY_SECONDS + 1, float("inf"), float("nan"), -1])
def test_a_retry_delay_out_of_bounds_is_refused(seconds):
    with pytest.raises(ValidationError, match="retry_in_seconds"):
        JobRetryScheduled(**status(error=ErrorInfo(type="E", message="m"), retry_in_seconds=seconds))


@pytest.mark.parametrize(
    "fields",
    [{"done": MAX_INT64 + 1}, {"done": 1, "total": MAX_INT64 + 1}, {"done": -1}, {"done": 1, "unit": "u" * 33}],
)
def test_progress_out_of_bounds_is_refused(fields):
    with pytest.raises(ValidationError):
        Progress(**fields)


def test_progress_up_to_a_64_bit_integer_is_accepted():
    assert Progress(done=MAX_INT64, total=MAX_INT64).done == MAX_INT64


@pytest.mark.parametrize(
    "fields", [{"type": "E" * 201, "message": "m"}, {"type": "E", "message": "m" * (MAX_ERROR_TEXT + 1)}]
)
def test_error_texts_are_bounded(fields):
    with pytest.raises(ValidationError):
        ErrorInfo(**fields)


def test_a_status_event_with_a_huge_replay_never_reaches_the_store():
    event = json.loads(JobSucceeded(**status()).model_dump_json())
    event["replay"] = 100000000000000000000
    with pytest.raises(ValidationError, match="replay"):
        TypeAdapter(JobStatusEvent).validate_json(json.dumps(event))
