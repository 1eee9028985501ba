"""The email and notification routes, and the acceptance every task route shares.

What a route hands the intake, how the intake's answer and refusals become
HTTP answers, and which requests never reach the intake at all.
"""

from __future__ import annotations

import pytest

from contracts.events import TaskType
from gateway.idempotency import KeyReused
from gateway.intake import NotAccepted
from gateway.json_bodies import LONE_SURROGATE

HELLO = {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"}
PING = {"targets": [{"url": "https://hooks.example.com/offload"}], "title": "Build finished", "body": "All green"}
JSON = {"content-type": "application/json"}


def test_an_accepted_job_is_a_202_pointing_at_its_status(client, gateway):
    response = client.post("/v1/emails", json=HELLO, headers={"Idempotency-Key": "order-1"})

    assert response.status_code == 202
    answer = response.json()
    assert answer.keys() == {"job_id", "status_url"}
    assert answer["status_url"] == f"/v1/jobs/{answer['job_id']}"
    assert response.headers["Location"] == answer["status_url"]
    assert "Idempotent-Replayed" not in response.headers
    [asked] = gateway.intake.asked
    assert (asked.task_type, asked.idempotency_key, asked.identity) == (TaskType.email, "order-1", None)
    assert (asked.payload.to, asked.payload.subject, asked.payload.text) == (["ada@example.com"], "Hello", "Hi Ada")


def test_the_stored_answer_to_a_repeated_request_says_it_is_one(client, gateway):
    gateway.intake.replayed = True

    response = client.post("/v1/notifications", json=PING, headers={"Idempotency-Key": "ping-1"})

    assert response.status_code == 202
    assert response.headers["Idempotent-Replayed"] == "true"
    assert response.headers["Location"] == response.json()["status_url"]
    assert [asked.task_type for asked in gateway.intake.asked] == [TaskType.notification]


def test_a_key_used_before_for_another_request_is_a_422_naming_the_key(client, gateway):
    gateway.intake.refusal = KeyReused()

    response = client.post("/v1/emails", json=HELLO, headers={"Idempotency-Key": "reused"})

    assert response.status_code == 422
    assert response.json() == {"detail": "Idempotency-Key 'reused' was already used with a different request"}


def test_a_job_the_store_could_not_record_is_a_503_to_try_again(client, gateway):
    gateway.intake.refusal = NotAccepted("the job store is unavailable")

    response = client.post("/v1/emails", json=HELLO)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "detail": "job not accepted: the job store is unavailable; nothing was recorded, try again"
    }


@pytest.mark.parametrize(
    "key",
    [b"two words", b"tab\there", "cl\u00e9".encode("latin-1"), b"k" * 256],
    ids=["space", "tab", "latin-1", "long"],
)
def test_an_idempotency_key_outside_printable_ascii_or_too_long_is_a_422(client, gateway, key):
    response = client.post("/v1/emails", json=HELLO, headers={"Idempotency-Key": key})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["header", "Idempotency-Key"]
    assert gateway.intake.asked == []


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"subject": "x", "text": "y"}, ["body", "to"], "Field required"),
        ({**HELLO, "to": ["not-an-address"]}, ["body", "to", 0], "value is not a valid email address"),
        ({**HELLO, "subject": "Hi\r\nBcc: eve@example.com"}, ["body", "subject"], "character 3 is U+000D"),
        ({**HELLO, "text": None}, ["body"], "an email needs a text or an html body"),
        ({**HELLO, "priority": "high"}, ["body", "priority"], "Extra inputs are not permitted"),
    ],
    ids=["missing-to", "bad-address", "header-injection", "no-body", "unknown-field"],
)
def test_bad_requests_get_a_precise_422(client, gateway, body, field, message):
    response = client.post("/v1/emails", json=body)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == field
    assert message in error["msg"]
    assert gateway.intake.asked == []


@pytest.mark.parametrize("target", [[None, None], [], "https://h.example.com", 3, None])
def test_a_target_of_no_known_shape_is_a_422(client, target):
    body = {"targets": [target], "title": "t", "body": "b"}
    response = client.post("/v1/notifications", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "targets", 0]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"to": ["a@example.com"], "subject": "\\ud800", "text": "x"}',
        b'{"to": ["a@example.com"], "subject": "ok", "text": "\\udfff and more"}',
    ],
)
def test_a_lone_surrogate_in_json_is_a_422(client, raw):
    response = client.post("/v1/emails", content=raw, headers=JSON)
    assert response.status_code == 422
    assert LONE_SURROGATE in response.json()["detail"][0]["ctx"]["error"]
