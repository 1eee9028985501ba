"""The committed AsyncAPI document is the one the contracts produce, and it holds together.

No Python package ships the official AsyncAPI 3.0 JSON Schema, so instead of
validating against it these tests check what a client relies on: every event
has its channel and operation, every `$ref` resolves, and every payload schema
takes a real event and refuses an incomplete one.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from contracts import bounds, headers
from contracts.asyncapi import DEAD_LETTER, DEFAULT_PATH, component_schemas, document, render
from contracts.events import TASK_EVENTS, DeadLetterReason, TaskType
from contracts.failures import FailureRecord
from contracts.schema import STATUS_EVENTS
from contracts.topology import SERVICE_TASKS, Topology

DOCUMENT = document()
TOPOLOGY = Topology()
# Where the document lives for `$ref` resolution; any URI would do.
DOCUMENT_URI = "urn:offload:asyncapi"
REGISTRY = Registry().with_resource(DOCUMENT_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT7))

TASK_FIELDS = {
    TaskType.email: {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"},
    TaskType.file: {"source": "uploads/report.csv", "operations": ["checksum", "csv_stats"]},
    TaskType.notification: {"targets": [{"url": "https://hooks.example.com/offload"}], "title": "Done", "body": "!"},
    TaskType.analysis: {
        "records": [{"city": "Oslo", "amount": 3.5}],
        "operations": [{"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum"]}}],
    },
}
STATUS_FIELDS = {
    "job.progressed": {"progress": {"done": 3, "total": 10}},
    "job.succeeded": {"result": {"sent": 1}},
    "job.retry_scheduled": {"error": {"type": "TimeoutError", "message": "slow"}, "retry_in_seconds": 2},
    "job.dead_lettered": {"error": {"type": "ValueError", "message": "bad"}, "reason": "permanent_error"},
}
EXAMPLES = [
    *(TASK_EVENTS[task](**fields) for task, fields in TASK_FIELDS.items()),
    *(
        event(task_type=TaskType.email, service="email", **STATUS_FIELDS.get(event.routing_key, {}))
        for event in STATUS_EVENTS
    ),
]


def test_committed_document_matches_the_contracts():
    assert DEFAULT_PATH.exists(), f"{DEFAULT_PATH.name} is missing: run `python -m contracts.asyncapi`"
    assert DEFAULT_PATH.read_text() == render(DOCUMENT), (
        "the contracts changed: run `python -m contracts.asyncapi` and commit docs/asyncapi.yaml"
    )


def test_the_rendered_document_reads_back_unchanged():
    # Catches values YAML would turn into something else, such as a version "1.0" read as a number.
    assert yaml.safe_load(render(DOCUMENT)) == DOCUMENT
    assert DOCUMENT["asyncapi"] == "3.0.0"


@pytest.mark.parametrize("task", list(TASK_EVENTS))
def test_every_task_event_has_a_channel_on_the_events_exchange_and_a_send_operation(task):
    routing_key = TOPOLOGY.routing_key(task)
    channel = DOCUMENT["channels"][routing_key]
    binding = channel["bindings"]["amqp"]

    assert channel["address"] == routing_key
    assert binding["is"] == "routingKey"
    assert (binding["exchange"]["name"], binding["exchange"]["type"]) == (TOPOLOGY.events.name, TOPOLOGY.events.type)
    assert list(channel["messages"]) == [TASK_EVENTS[task].__name__]
    [send] = _operations_on(routing_key)
    assert send["action"] == "send"
    assert send["bindings"]["amqp"]["deliveryMode"] == 2


@pytest.mark.parametrize("event", STATUS_EVENTS, ids=lambda event: event.__name__)
def test_every_status_event_has_a_channel_a_client_can_receive_from(event):
    routing_key = event.routing_key
    channel = DOCUMENT["channels"][routing_key]

    assert channel["address"] == routing_key
    assert channel["bindings"]["amqp"]["exchange"]["name"] == TOPOLOGY.events.name
    assert [operation["action"] for operation in _operations_on(routing_key)] == ["receive"]


def test_every_dead_letter_queue_is_documented_with_the_headers_a_dead_letter_carries():
    owners = [*(TOPOLOGY.service(service) for service in SERVICE_TASKS), TOPOLOGY.gateway()]
    for owner in owners:
        channel = DOCUMENT["channels"][owner.dead.name]
        assert channel["bindings"]["amqp"]["queue"]["name"] == owner.dead.name
        assert list(channel["messages"]) == [DEAD_LETTER]
    offload_headers = {value for name, value in vars(headers).items() if name.isupper() and value.startswith("x-")}
    assert set(DOCUMENT["components"]["messages"][DEAD_LETTER]["headers"]["properties"]) == offload_headers


def test_the_dead_letter_headers_are_documented_from_the_failure_record():
    documented = DOCUMENT["components"]["messages"][DEAD_LETTER]["headers"]["properties"]
    fields = FailureRecord.model_fields.values()

    assert list(documented)[: len(fields)] == [field.alias for field in fields]
    for field in fields:
        assert documented[field.alias]["description"] == field.description
    assert documented[headers.REASON]["enum"] == [reason.value for reason in DeadLetterReason]
    assert documented[headers.ERROR_MESSAGE] == {
        "type": "string",
        "maxLength": bounds.MAX_ERROR_TEXT,
        "description": "The last failure's message.",
    }
    assert (documented[headers.ATTEMPTS]["minimum"], documented[headers.ATTEMPTS]["maximum"]) == (1, bounds.MAX_ATTEMPT)
    assert documented[headers.FAILED_AT]["format"] == "date-time"
    history = documented[headers.HISTORY]
    assert (history["maxItems"], history["items"]["maxLength"]) == (bounds.MAX_HISTORY, bounds.MAX_HISTORY_LINE)
    assert documented[headers.REPLAYS]["maximum"] == bounds.MAX_REPLAYS


def test_nested_models_of_the_same_name_must_be_the_same_model():
    def message(title: str, target: dict[str, Any]) -> dict[str, Any]:
        return {"title": title, "properties": {"to": {"$ref": "#/$defs/Target"}}, "$defs": {"Target": target}}

    same = component_schemas({"a": message("A", {"type": "string"}), "b": message("B", {"type": "string"})})
    assert same["A"]["properties"]["to"] == {"$ref": "#/components/schemas/Target"}
    assert same["Target"] == {"type": "string"}
    with pytest.raises(ValueError, match="Target"):
        component_schemas({"a": message("A", {"type": "string"}), "b": message("B", {"type": "integer"})})


def test_every_ref_resolves_inside_the_document():
    refs = list(_refs(DOCUMENT))
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        node: Any = DOCUMENT
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
            node = node[part]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: event.type)
def test_every_payload_takes_a_real_event_and_refuses_one_without_a_required_field(event):
    message = DOCUMENT["channels"][event.type]["messages"][type(event).__name__]
    validator = _payload_validator(message)
    body = event.model_dump(mode="json")

    validator.validate(body)
    required = _resolve(_resolve(message)["payload"])["required"]
    assert {"message_id", "job_id", "type", "version", "created_at"} <= set(required)
    for field in required:
        incomplete = {name: value for name, value in body.items() if name != field}
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(incomplete)


def test_every_message_has_an_example_here():
    assert {event.type for event in EXAMPLES} == {
        channel["address"] for channel in DOCUMENT["channels"].values() if channel["bindings"]["amqp"]["is"] != "queue"
    }


def _operations_on(routing_key: str) -> list[dict[str, Any]]:
    channel = {"$ref": f"#/channels/{routing_key}"}
    return [operation for operation in DOCUMENT["operations"].values() if operation["channel"] == channel]


def _refs(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its `$ref` points at (references here are all local)."""
    while "$ref" in node:
        node = REGISTRY.resolver(DOCUMENT_URI).lookup(node["$ref"]).contents
    return node


def _payload_validator(message: dict[str, Any]) -> jsonschema.Validator:
    payload = _resolve(message)["payload"]
    # AsyncAPI's Schema Object is a superset of JSON Schema draft 7.
    return jsonschema.Draft7Validator(
        {"$ref": f"{DOCUMENT_URI}{payload['$ref']}"},
        registry=REGISTRY,
        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
    )
