"""A dead letter is known by its body's `message_id`, as services know the message."""

from __future__ import annotations

import json
from uuid import uuid4

from contracts import headers
from gateway.dead_letters import DeadLetter

FAILED = {headers.REASON: "permanent_error", headers.ERROR_MESSAGE: "550 no such user"}


def test_the_body_id_names_the_letter_whatever_the_property_says():
    body_id = uuid4()
    body = json.dumps({"message_id": str(body_id), "job_id": str(uuid4())}).encode()

    # aiormq invents a hex id for a message published without the property.
    letter = DeadLetter.from_parts("email", body=body, headers=FAILED, message_id=uuid4().hex)

    assert letter.message_id == str(body_id)


def test_the_body_id_is_shown_as_services_record_it():
    body_id = uuid4()
    body = json.dumps({"message_id": str(body_id).upper()}).encode()

    letter = DeadLetter.from_parts("email", body=body, headers=FAILED, message_id=None)

    assert letter.message_id == str(body_id)


def test_the_property_stands_in_for_a_body_without_an_id():
    for body in (b"not json", b"{}", b'{"message_id": 7}', b"[1]", b"{" * 100_000):
        assert DeadLetter.from_parts("email", body=body, headers=FAILED, message_id="poison").message_id == "poison"


def test_an_unreadable_letter_is_known_by_its_body_id_too():
    body_id = uuid4()
    letter = DeadLetter.unreadable("email", json.dumps({"message_id": str(body_id)}).encode(), "a1b2")
    assert letter.message_id == str(body_id)
