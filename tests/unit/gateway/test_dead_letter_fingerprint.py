"""Reading a dead letter from its headers, and grouping failures by fingerprint."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from contracts import headers
from contracts.topology import Topology
from gateway.dead_letters import (
    DeadLetter,
    DeadLetterListing,
    UnknownService,
    dead_letter_queue,
    fingerprint,
    normalise,
)

JOB_ID = uuid4()
BODY = f'{{"job_id": "{JOB_ID}", "attempt": 3, "type": "email.requested"}}'.encode()


def ours(**overrides: object) -> dict[str, object]:
    """Headers as the consumer runtime writes them on a dead letter."""
    return {
        headers.REASON: "permanent_error",
        headers.ERROR_TYPE: "PermanentError",
        headers.ERROR_MESSAGE: "SMTP refused every recipient: nobody@example.com: 550 5.1.1 no such user",
        headers.ATTEMPTS: 3,
        headers.ROUTING_KEY: "email.requested",
        headers.SERVICE: "email",
        headers.FIRST_FAILED_AT: "2026-01-01T12:00:00+00:00",
        headers.FAILED_AT: "2026-01-01T12:00:07.500000+00:00",
        headers.HISTORY: ["attempt 1: TimeoutError: slow", "attempt 2: TimeoutError: slow", "attempt 3: ..."],
        **overrides,
    }


def broker_death(reason: str = "delivery_limit", **extra: object) -> dict[str, object]:
    """Headers as RabbitMQ writes them when it dead-letters a message itself."""
    return {
        "x-death": [
            {
                "count": 1,
                "reason": reason,
                "queue": "offload.email",
                "time": datetime(2026, 1, 1, 13, 0, tzinfo=UTC),
                "exchange": "offload.events",
                "routing-keys": ["email.requested"],
            }
        ],
        "x-first-death-reason": reason,
        "x-first-death-queue": "offload.email",
        "x-first-death-exchange": "offload.events",
        "x-delivery-count": 0,
        **extra,
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("550 no such user a@x", "550 no such user b@y"),
        ("550 no such user ada@example.com", "551 no such user bob.smith+tag@mail.example.org"),
        (f"job {uuid4()} vanished", f"job {uuid4()} vanished"),
        ("object 9f86d081884c7d65 missing", "object 0a1b2c3d4e5f6071 missing"),
        ("pointer 0xdeadbeef freed", "pointer 0x1f freed"),
        ("file 'inbox/a.csv' not found", 'file "other/b.csv" not found'),
        ("timed out after 5.0s on 127.0.0.1:2525", "timed out after 30s on 10.0.0.7:25"),
        ("too   many\nspaces", "too many spaces"),
    ],
    ids=["short-emails", "emails", "uuids", "hex-ids", "0x-hex", "quoted", "numbers", "whitespace"],
)
def test_the_same_failure_with_other_values_groups_together(first, second):
    assert normalise(first) == normalise(second)
    assert fingerprint("email", "permanent_error", "PermanentError", first) == fingerprint(
        "email", "permanent_error", "PermanentError", second
    )


@pytest.mark.parametrize(
    ("service", "reason", "error_type", "message"),
    [
        ("file", "permanent_error", "PermanentError", "550 no such user a@x"),
        ("email", "retries_exhausted", "PermanentError", "550 no such user a@x"),
        ("email", "permanent_error", "SMTPDataError", "550 no such user a@x"),
        ("email", "permanent_error", "PermanentError", "552 mailbox full a@x"),
    ],
    ids=["service", "reason", "error-type", "message"],
)
def test_a_different_failure_gets_a_different_fingerprint(service, reason, error_type, message):
    base = fingerprint("email", "permanent_error", "PermanentError", "550 no such user a@x")
    assert fingerprint(service, reason, error_type, message) != base


def test_fingerprint_is_short_stable_hex():
    value = fingerprint("email", "invalid_message", "InvalidMessage", "subject: Field required")
    assert value == fingerprint("email", "invalid_message", "InvalidMessage", "subject: Field required")
    assert len(value) == 12 and int(value, 16) >= 0


def test_normalise_keeps_the_words_and_apostrophes():
    assert normalise("can't reach 'smtp.example.com' twice") == "can't reach <value> twice"
    assert normalise("SMTP refused every recipient: nobody@example.com: 550 5.1.1 no such user") == (
        "SMTP refused every recipient: <email>: <n> <n> no such user"
    )


def test_a_dead_letter_of_ours_reads_its_headers():
    letter = DeadLetter.from_parts("email", body=BODY, headers=ours(), message_id="m-1")

    assert letter.service == "email" and letter.message_id == "m-1"
    assert letter.job_id == JOB_ID
    assert letter.routing_key == "email.requested"
    assert letter.reason == "permanent_error"
    assert letter.error_type == "PermanentError"
    assert letter.error_message.endswith("550 5.1.1 no such user")
    assert letter.attempts == 3
    assert letter.first_failed_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert letter.last_failed_at == datetime(2026, 1, 1, 12, 0, 7, 500000, tzinfo=UTC)
    assert letter.history[0] == "attempt 1: TimeoutError: slow" and len(letter.history) == 3
    assert letter.replays == 0
    assert letter.body_preview == BODY.decode()
    assert letter.fingerprint == fingerprint("email", "permanent_error", "PermanentError", letter.error_message)


def test_dead_letters_that_differ_only_in_address_share_a_fingerprint():
    one = DeadLetter.from_parts("email", body=BODY, headers=ours(), message_id="a")
    other_message = "SMTP refused every recipient: ghost@example.org: 550 5.1.1 no such user"
    other_headers = ours(**{headers.ERROR_MESSAGE: other_message})
    two = DeadLetter.from_parts("email", body=b"{}", headers=other_headers, message_id="b")

    assert one.fingerprint == two.fingerprint
    listing = DeadLetterListing.of([one, two])
    assert listing.count == 2
    [group] = listing.groups
    assert group.count == 2 and group.reason == "permanent_error" and group.error_type == "PermanentError"
    assert group.example_message == one.error_message


def test_a_broker_dead_letter_reads_x_death():
    letter = DeadLetter.from_parts("email", body=BODY, headers=broker_death(), message_id="m-2")

    assert letter.reason == "delivery_limit"
    assert letter.error_type is None
    assert "dead-lettered by the broker" in letter.error_message
    assert "delivery limit of queue offload.email" in letter.error_message
    assert letter.routing_key == "email.requested"
    assert letter.attempts == 1
    assert letter.first_failed_at == letter.last_failed_at == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    assert letter.job_id == JOB_ID
    assert letter.history == []


def test_a_broker_dead_letter_after_retries_keeps_the_first_failure_and_history():
    carried = {headers.FIRST_FAILED_AT: "2026-01-01T12:00:00+00:00", headers.HISTORY: ["attempt 1: OSError: x"]}
    letter = DeadLetter.from_parts("email", body=BODY, headers=broker_death(**carried), message_id="m-3")

    assert letter.first_failed_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert letter.last_failed_at == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    assert letter.history == ["attempt 1: OSError: x"]


def test_all_broker_dead_letters_of_a_service_and_reason_group_together():
    one = DeadLetter.from_parts("email", body=BODY, headers=broker_death(), message_id="a")
    two = DeadLetter.from_parts("email", body=b"junk", headers=broker_death(), message_id="b")
    rejected = DeadLetter.from_parts("email", body=b"junk", headers=broker_death("rejected"), message_id="c")

    assert one.fingerprint == two.fingerprint != rejected.fingerprint
    assert rejected.error_message == "dead-lettered by the broker (rejected) from queue offload.email"


def test_our_headers_win_over_x_death_from_delay_queues():
    # A message that waited in a delay queue carries the broker's "expired" death too.
    letter = DeadLetter.from_parts("email", body=BODY, headers={**broker_death("expired"), **ours()}, message_id="m")
    assert letter.reason == "permanent_error" and letter.error_type == "PermanentError"


def test_a_message_with_no_failure_headers_is_still_listed():
    letter = DeadLetter.from_parts("email", body=b"\xff\xfe not json" * 100, headers={}, message_id=None)

    assert letter.reason == "unknown" and letter.error_message is None and letter.attempts is None
    assert letter.job_id is None
    assert len(letter.body_preview) == 500 and "\ufffd" in letter.body_preview


def test_replays_are_counted_from_the_header():
    letter = DeadLetter.from_parts("email", body=BODY, headers=ours(**{headers.REPLAYS: 2}), message_id="m")
    assert letter.replays == 2


def test_unknown_service_names_the_known_ones():
    with pytest.raises(UnknownService) as raised:
        dead_letter_queue(Topology("offload"), "fax")
    assert str(raised.value) == "unknown service 'fax'; known services: email, file, notify, analytics, gateway"
    assert dead_letter_queue(Topology("offload"), "gateway").name == "offload.gateway.dead"
    assert dead_letter_queue(Topology("offload"), "email").name == "offload.email.dead"
