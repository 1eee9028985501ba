"""The committed JSON Schemas are the ones the models produce."""

import json

import pytest

from contracts.schema import DEFAULT_DIRECTORY, message_schemas, render

SCHEMAS = message_schemas()


@pytest.mark.parametrize("message_type", sorted(SCHEMAS))
def test_committed_schema_matches_the_model(message_type):
    path = DEFAULT_DIRECTORY / f"{message_type}.json"
    assert path.exists(), f"{path.name} is missing: run `python -m contracts.schema`"
    assert path.read_text() == render(SCHEMAS[message_type]), (
        f"the {message_type} contract changed: run `python -m contracts.schema` and commit the result"
    )


def test_no_schema_is_left_for_a_message_that_is_gone():
    assert {path.stem for path in DEFAULT_DIRECTORY.glob("*.json")} == set(SCHEMAS)


def test_every_schema_requires_the_envelope_a_publisher_must_send():
    for message_type, schema in SCHEMAS.items():
        properties = schema["properties"]
        assert {"message_id", "job_id", "version", "created_at", "type"} <= set(schema["required"])
        assert properties["type"]["const"] == message_type or properties["type"].get("default") == message_type
        json.dumps(schema)  # plain JSON, nothing Python-only
