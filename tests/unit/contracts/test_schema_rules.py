"""The schemas refuse what the services refuse, and take what they take.

Each rule a consumer applies to a message is checked twice: the committed
schema refuses a message that breaks it, and so does the model the services
decode with. Rules JSON Schema cannot state (the byte size of a whole message)
are stated in the schemas' descriptions and checked here from the other side.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from contracts import bounds
from contracts.events import FROM_THE_WIRE, TASK_EVENTS, Email, EmailRequested, TaskType
from contracts.paths import PATH_SCHEMA, path_problem
from contracts.schema import DEFAULT_DIRECTORY, STATUS_EVENTS
from runtime.settings import ServiceSettings

COMMITTED = {path.stem: json.loads(path.read_text()) for path in DEFAULT_DIRECTORY.glob("*.json")}
MODELS = {model.routing_key: model for model in [*TASK_EVENTS.values(), *STATUS_EVENTS]}
ENVELOPE = {
    "message_id": "6d1c7a52-8d0c-4c8e-9f6a-2b1d4c3e5f70",
    "job_id": "0b6f3c1e-4a2d-4f5e-8c7b-9a1d2e3f4a5b",
    "version": "1.0",
    "created_at": "2026-01-02T03:04:05+00:00",
    "attempt": 1,
}
STATUS = {"task_type": "email", "service": "email", "occurred_at": "2026-01-02T03:04:06Z"}
# One real message of each type, as a client in any language would write it.
MESSAGES: dict[str, dict[str, Any]] = {
    "email.requested": {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"},
    "file.requested": {"source": "uploads/report.csv", "operations": ["checksum", "csv_stats"]},
    "notification.requested": {
        "provider": "webhook",
        "targets": [{"url": "https://hooks.example.com/offload"}],
        "title": "Done",
        "body": "All green",
    },
    "analysis.requested": {
        "records": [{"city": "Oslo", "amount": 3.5}],
        "operations": [{"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum"]}}],
    },
    "job.queued": STATUS,
    "job.started": STATUS,
    "job.progressed": {**STATUS, "progress": {"done": 3, "total": 10}},
    "job.succeeded": {**STATUS, "result": {"sent": 1}},
    "job.retry_scheduled": {**STATUS, "error": {"type": "TimeoutError", "message": "slow"}, "retry_in_seconds": 2},
    "job.dead_lettered": {**STATUS, "error": {"type": "ValueError", "message": "bad"}, "reason": "permanent_error"},
}


def message(message_type: str, **changes: Any) -> dict[str, Any]:
    """A real message of `message_type`, with `changes` (None: the field left out)."""
    body = {**ENVELOPE, "type": message_type, **copy.deepcopy(MESSAGES[message_type]), **changes}
    return {name: value for name, value in body.items() if value is not None}


def schema_errors(body: dict[str, Any]) -> list[str]:
    schema = COMMITTED[body["type"]]
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [error.message for error in validator.iter_errors(body)]


def decoded(body: dict[str, Any]) -> Any:
    """The message as a consumer reads it off the wire (runtime.decode)."""
    return TypeAdapter(MODELS[body["type"]]).validate_json(json.dumps(body), context=FROM_THE_WIRE)


def test_there_is_a_message_of_every_type_here():
    assert set(MESSAGES) == set(COMMITTED) == set(MODELS)


@pytest.mark.parametrize("message_type", sorted(MESSAGES))
def test_a_real_message_of_each_type_is_valid_under_its_schema_and_its_model(message_type):
    body = message(message_type)
    assert schema_errors(body) == []
    decoded(body)


def _without_op(body: dict[str, Any]) -> None:
    del body["operations"][0]["op"]


def _token_target(body: dict[str, Any]) -> None:
    body["targets"] = [{"token": "fcm-registration-token"}]


# Each rule a consumer applies, broken once: (the message type, what breaks it).
BROKEN: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "an operation without op": ("analysis.requested", _without_op),
    "neither records nor dataset": ("analysis.requested", lambda body: body.pop("records")),
    "both records and dataset": ("analysis.requested", lambda body: body.update(dataset="data/sales.csv")),
    "records null and no dataset": ("analysis.requested", lambda body: body.update(records=None)),
    "a dataset climbing out": ("analysis.requested", lambda body: body.update(records=None, dataset="../x.csv")),
    "a webhook with a token target": ("notification.requested", _token_target),
    "a source climbing out": ("file.requested", lambda body: body.update(source="reports/../../etc/passwd")),
    "an encoded climb in a URL": ("file.requested", lambda body: body.update(source="file:///srv/%2e%2E/etc")),
    "an absolute source": ("file.requested", lambda body: body.update(source="/etc/passwd")),
    "a source that is the root": ("file.requested", lambda body: body.update(source="./")),
    "a source of another scheme": ("file.requested", lambda body: body.update(source="https://example.com/a")),
    "a backslash in a source": ("file.requested", lambda body: body.update(source="a\\b.csv")),
    "a blank source": ("file.requested", lambda body: body.update(source="  ")),
    "version 2.0": ("email.requested", lambda body: body.update(version="2.0")),
    "version 0.9": ("job.queued", lambda body: body.update(version="0.9")),
    "a version that is no version": ("email.requested", lambda body: body.update(version="latest")),
    "an email without a body": ("email.requested", lambda body: body.pop("text")),
    "a text longer than the cap allows": (
        "email.requested",
        lambda body: body.update(text="x" * (bounds.MAX_EMAIL_BODY_CHARS + 1)),
    ),
    "no message_id": ("file.requested", lambda body: body.pop("message_id")),
}


@pytest.mark.parametrize("rule", list(BROKEN))
def test_a_message_breaking_a_rule_is_refused_by_the_schema_and_by_the_service(rule):
    message_type, breaking = BROKEN[rule]
    body = message(message_type)
    breaking(body)

    assert schema_errors(body), f"the schema takes a message with {rule}"
    with pytest.raises(ValidationError):
        decoded(body)


@pytest.mark.parametrize("source", ["uploads/report.csv", "./a/b.csv", "a/.../b", "s3://bucket/x.csv", "file:///a"])
def test_a_source_under_the_root_is_valid_under_the_schema(source):
    body = message("file.requested", source=source)
    assert schema_errors(body) == []
    decoded(body)


def test_a_version_of_the_supported_major_is_valid_whatever_its_minor():
    body = message("email.requested", version="1.7")
    assert schema_errors(body) == []
    assert decoded(body).version == "1.7"


@pytest.mark.parametrize("message_type", sorted(TASK_EVENTS[task].routing_key for task in TaskType))
def test_an_unknown_field_in_a_task_event_is_refused_by_the_schema_though_a_consumer_ignores_it(message_type):
    # The documented difference (docs/contract.md): strict for the publisher,
    # tolerant in the consumer, so that a newer 1.x publisher reaches an older consumer.
    body = message(message_type, subjcet="a typo")
    assert any("subjcet" in error for error in schema_errors(body))
    decoded(body)


def test_a_status_event_may_carry_fields_a_receiver_does_not_know():
    assert schema_errors(message("job.queued", added_in_1_1="x")) == []


def test_an_email_at_every_length_limit_fits_in_one_message():
    longest_address = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + ".example.com"
    email = Email(
        to=[longest_address] * 100,
        cc=[longest_address] * 100,
        bcc=[longest_address] * 100,
        reply_to=[longest_address] * 10,
        subject="s" * 998,
        text="t" * bounds.MAX_EMAIL_BODY_CHARS,
        html="h" * bounds.MAX_EMAIL_BODY_CHARS,
    )
    event = EmailRequested(**email.model_dump())
    assert len(event.model_dump_json().encode()) <= bounds.MAX_MESSAGE_BYTES


def test_the_consumers_default_cap_is_the_contracts():
    assert ServiceSettings.model_fields["max_message_bytes"].default == bounds.MAX_MESSAGE_BYTES


PATH_VALIDATOR = jsonschema.Draft202012Validator({"type": "string", **PATH_SCHEMA})
PATH_PIECES = st.sampled_from(
    ["a", ".", "..", "/", "\\", " ", "\x00", "\n", "\x85", "%2e", "%2E", "%2f", "%5c", "%0a", "%41", "%",
     "file://", "s3://", "S3://", "http://", "x+y://", ":", "é"]
)  # fmt: skip


@given(st.lists(PATH_PIECES, min_size=1, max_size=8).map("".join))
def test_the_schema_of_a_path_says_what_path_problem_says(path):
    assert PATH_VALIDATOR.is_valid(path) == (path_problem(path) is None), path_problem(path)
