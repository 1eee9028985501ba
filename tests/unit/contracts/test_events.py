"""The message contracts: what they accept, what they refuse, and how they travel."""

from __future__ import annotations

import json
from datetime import datetime
from typing import get_args

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError

from contracts.events import (
    FROM_THE_WIRE,
    STATUS_STEPS,
    TASK_EVENTS,
    AnalysisRequested,
    EmailRequested,
    FileProcessingRequested,
    JobDeadLettered,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobStatusEvent,
    JobSucceeded,
    NotificationRequested,
    TaskEvent,
)
from gateway.routes import tasks

TASKS = [
    EmailRequested(to=["ada@example.com"], cc=["bob@example.com"], subject="Hi", text="t", html="<p>t</p>"),
    FileProcessingRequested(source="inbox/orders.csv", operations=["checksum", "csv_stats"]),
    NotificationRequested(
        provider="webpush",
        targets=[{"endpoint": "https://push.example.com/abc", "keys": {"p256dh": "k", "auth": "a"}}],
        title="Build finished",
        body="All green",
        data={"build": "42"},
    ),
    AnalysisRequested(
        records=[{"city": "Oslo", "amount": 3.5}, {"city": "Rome", "amount": None}],
        operations=[
            {"op": "filter", "column": "amount", "operator": "not_null"},
            {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum", "mean"]}},
        ],
    ),
]

STATUSES = [
    JobStarted(task_type="email", service="email"),
    JobProgressed(task_type="file", service="file", progress={"done": 5, "total": 10, "unit": "bytes"}),
    JobSucceeded(task_type="email", service="email", result={"message_id": "<x@y>"}),
    JobRetryScheduled(
        task_type="email", service="email", attempt=2, error={"type": "OSError", "message": "x"}, retry_in_seconds=4
    ),
    JobDeadLettered(
        task_type="email", service="email", error={"type": "PermanentError", "message": "550"}, reason="permanent_error"
    ),
]


@pytest.mark.parametrize("event", TASKS, ids=lambda e: e.type)
def test_task_events_round_trip_through_json(event):
    wire = event.model_dump_json()
    assert TypeAdapter(TaskEvent).validate_json(wire) == event
    assert json.loads(wire)["type"] == event.type


@pytest.mark.parametrize("event", STATUSES, ids=lambda e: e.type)
def test_status_events_round_trip_through_json(event):
    assert TypeAdapter(JobStatusEvent).validate_json(event.model_dump_json()) == event


def test_a_message_routes_by_its_type():
    for event in [*TASKS, *STATUSES]:
        assert type(event).routing_key == event.routing_key == event.type == json.loads(event.model_dump_json())["type"]
    routing_keys = [event.routing_key for event in [*TASK_EVENTS.values(), *STATUS_STEPS]]
    assert len(set(routing_keys)) == len(routing_keys)


def test_every_status_event_says_what_it_means():
    union, _ = get_args(JobStatusEvent)
    assert set(STATUS_STEPS) == set(get_args(union))


def test_every_message_carries_the_envelope():
    for event in [*TASKS, *STATUSES]:
        wire = json.loads(event.model_dump_json())
        assert {"message_id", "job_id", "type", "version", "created_at", "attempt"} <= wire.keys()
        assert wire["version"] == "1.0" and wire["attempt"] >= 1
        assert datetime.fromisoformat(wire["created_at"]).tzinfo is not None


def test_next_attempt_keeps_identity_and_counts_up():
    event = TASKS[0]
    retry = event.next_attempt()
    assert (retry.message_id, retry.job_id, retry.attempt) == (event.message_id, event.job_id, 2)


def test_a_newer_minor_version_with_extra_fields_is_accepted():
    wire = json.loads(TASKS[0].model_dump_json()) | {"version": "1.7", "priority": "high"}
    assert EmailRequested.model_validate(wire).version == "1.7"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"version": "2.0"}, "unsupported major version 2"),
        ({"version": "one"}, "version must look like '1.0'"),
        ({"attempt": 0}, "greater than or equal to 1"),
        ({"created_at": "2026-01-01T00:00:00"}, "timezone info"),
        ({"type": "email.sent"}, "Input should be 'email.requested'"),
        ({"to": []}, "at least 1 item"),
        ({"subject": "a\nBcc: eve@example.com"}, "character 2 is U\\+000A, a control character"),
        ({"text": None, "html": None}, "needs a text or an html body"),
    ],
)
def test_email_requested_refuses(change, error):
    wire = json.loads(TASKS[0].model_dump_json()) | change
    with pytest.raises(ValidationError, match=error):
        EmailRequested.model_validate(wire)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"provider": "fcm", "targets": [{"url": "https://h.example.com"}]}, "'fcm' needs targets with 'token'"),
        ({"provider": "webhook", "targets": [{"phone": "+47"}]}, "needs one of 'url', 'endpoint' or 'token'"),
        ({"provider": "webhook", "targets": [{"url": "ftp://h.example.com"}]}, "URL scheme should be 'http'"),
        ({"provider": "carrier-pigeon", "targets": [{"token": "t"}]}, "Input should be 'webhook'"),
    ],
)
def test_notification_requested_refuses(fields, error):
    with pytest.raises(ValidationError, match=error):
        NotificationRequested(title="t", body="b", **fields)


def test_a_notification_without_a_provider_leaves_the_choice_and_the_target_check_to_the_service():
    mixed = [{"url": "https://h.example.com"}, {"token": "device-1"}]

    event = NotificationRequested(title="t", body="b", targets=mixed)

    assert event.provider is None
    assert NotificationRequested.model_validate_json(event.model_dump_json()).provider is None
    assert event.misfit("log") is None
    assert event.misfit("webhook") == "targets[1]: provider 'webhook' needs targets with 'url', got one with 'token'"


def test_file_operations_are_a_closed_list_without_repeats():
    with pytest.raises(ValidationError, match="Input should be 'checksum'"):
        FileProcessingRequested(source="a.csv", operations=["rm -rf"])
    with pytest.raises(ValidationError, match="each operation may be asked for once"):
        FileProcessingRequested(source="a.csv", operations=["checksum", "checksum"])


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"records": [{"a": 1}], "dataset": "d.csv"}, "exactly one of 'records' or 'dataset'"),
        ({}, "exactly one of 'records' or 'dataset'"),
    ],
)
def test_analysis_needs_exactly_one_input(fields, error):
    with pytest.raises(ValidationError, match=error):
        AnalysisRequested(operations=[{"op": "describe"}], **fields)


def test_analysis_operations_are_data_not_code():
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        AnalysisRequested(records=[{"a": 1}], operations=[{"op": "eval", "expr": "__import__('os')"}])
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        AnalysisRequested(records=[{"a": 1}], operations=[{"op": "describe", "query": "a > 1"}])
    with pytest.raises(ValidationError, match="String should match pattern"):
        resample = {"op": "resample", "on": "t", "every": "1D; drop", "aggregations": {"t": ["sum"]}}
        AnalysisRequested(records=[{"t": 1}], operations=[resample])


def test_a_message_read_off_the_wire_must_carry_its_ids():
    wire = json.loads(TASKS[0].model_dump_json())
    del wire["message_id"], wire["job_id"]
    # Code may leave them to the defaults ...
    assert EmailRequested.model_validate(wire).message_id is not None
    # ... a publisher may not: a redelivery would get new ones.
    with pytest.raises(ValidationError, match="a published message must carry message_id, job_id"):
        EmailRequested.model_validate(wire, context=FROM_THE_WIRE)


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("../etc/passwd", "climbs out"),
        ("inbox/../../x", "climbs out"),
        ("/etc/passwd", "absolute path"),
        ("file:///srv/files/%2e%2e/x", "climbs out"),
        ("a\x00b", "control character"),
    ],
)
def test_a_file_source_that_could_never_be_under_a_root_is_refused(source, says):
    with pytest.raises(ValidationError, match=says):
        FileProcessingRequested(source=source, operations=["checksum"])


def test_file_sources_under_a_root_are_accepted():
    for source in ("inbox/orders.csv", "./a/b..c.csv", "s3://bucket/files/x.csv", "file:///srv/files/x.csv"):
        assert FileProcessingRequested(source=source, operations=["checksum"]).source == source


def test_an_analysis_dataset_that_climbs_out_is_refused():
    with pytest.raises(ValidationError, match="climbs out"):
        AnalysisRequested(dataset="../data.parquet", operations=[{"op": "describe"}])
    assert AnalysisRequested(dataset="datasets/sales.parquet", operations=[{"op": "describe"}]).dataset


@pytest.mark.parametrize(
    ("subject", "says"),
    [
        ("Hi\r\nBcc: eve@example.com", "character 3 is U\\+000D, a control character"),
        ("Hi\u2028Bcc: eve@example.com", "character 3 is U\\+2028 LINE SEPARATOR, a line separator"),
        ("Hi\u2029there", "U\\+2029 PARAGRAPH SEPARATOR, a paragraph separator"),
        ("Hi\x85Bcc: eve@example.com", "U\\+0085, a control character"),
        ("Hi\x0bthere", "U\\+000B, a control character"),
        ("Hi\x0cthere", "U\\+000C, a control character"),
        ("Hi\x1cthere", "U\\+001C, a control character"),
        ("Hi\tthere", "U\\+0009, a control character"),
        ("Hi\x00", "U\\+0000, a control character"),
        ("Hi\x7f", "U\\+007F, a control character"),
        ("Pay \u202egnp.exe", "U\\+202E RIGHT-TO-LEFT OVERRIDE, an invisible format character"),
        ("Hi\u200bthere", "U\\+200B ZERO WIDTH SPACE, an invisible format character"),
        ("\ufeffHi", "character 1 is U\\+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("Hi\ud800", "Input should be a valid string"),
    ],
)
def test_a_subject_that_is_not_one_line_of_visible_text_is_refused(subject, says):
    with pytest.raises(ValidationError, match=says) as refused:
        EmailRequested(to=["ada@example.com"], subject=subject, text="t")
    assert [error["loc"] for error in refused.value.errors()] == [("subject",)]


def test_every_character_str_splitlines_splits_on_is_refused_in_a_subject():
    breaks = [char for char in map(chr, range(0x3000)) if len(f"a{char}b".splitlines()) > 1]
    assert len(breaks) == 10  # \n \x0b \x0c \r \x1c \x1d \x1e \x85 \u2028 \u2029
    for char in breaks:
        with pytest.raises(ValidationError, match="subject"):
            EmailRequested(to=["ada@example.com"], subject=f"a{char}b", text="t")


@pytest.mark.parametrize(
    "subject",
    [
        "Réunion à 10h – café ☕ 東京",
        "Coder: 👩\u200d💻",  # a zero-width joiner inside an emoji sequence
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, with a zero-width non-joiner
        "=?utf-8?q?Hi=0D=0ABcc:_eve@example.com?=",  # literal text; the email service keeps it literal
        "  spaced  out  ",
    ],
)
def test_one_line_of_visible_text_is_a_subject(subject):
    assert EmailRequested(to=["ada@example.com"], subject=subject, text="t").subject == subject


@pytest.mark.parametrize("field", ["to", "cc", "bcc", "reply_to"])
@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("ädä@example.com", "the part before '@' must be ASCII"),
        ("用户@example.com", "the part before '@' must be ASCII"),
        ("=?utf-8?q?x=0D=0ABcc=3A_v?=@example.com", "would be read as an RFC 2047 encoded word"),
    ],
)
def test_an_address_the_email_service_cannot_send_to_is_refused(field, address, says):
    fields = {"to": ["ada@example.com"], "subject": "Hi", "text": "t"} | {field: [address]}
    with pytest.raises(ValidationError, match=says) as refused:
        EmailRequested(**fields)
    assert [error["loc"] for error in refused.value.errors()] == [(field, 0)]


def test_an_internationalised_domain_is_carried_in_its_ascii_form():
    event = EmailRequested(to=["ada@bücher.example"], bcc=["bob@Straße.example"], subject="Hi", text="t")

    assert event.to == ["ada@xn--bcher-kva.example"]
    assert event.bcc == ["bob@xn--strae-oqa.example"]


async def test_the_gateway_answers_422_naming_the_field_it_refuses():
    # The gateway validates request bodies with these models; its route says so.
    app = FastAPI()
    app.include_router(tasks.router)
    app.state.gateway = None  # never reached: the body is refused first
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for field, value in [("subject", "Hi\u2028Bcc: eve@example.com"), ("to", ["ädä@example.com"])]:
            body = {"to": ["ada@example.com"], "subject": "Hi", "text": "t"} | {field: value}
            response = await client.post("/v1/emails", json=body)

            assert response.status_code == 422, response.text
            [error] = response.json()["detail"]
            assert error["loc"][:2] == ["body", field]
