"""JSON Schema for every message, so that publishers in any language can check theirs.

`python -m contracts.schema [DIRECTORY]` writes one `<type>.json` per message
(default: docs/schemas). The files are committed, and a test fails when the
models and the files disagree, so a change to the contract is always a
visible change to the repository.

The documents are standard JSON Schema (draft 2020-12): they name their
dialect and their `$id`, and use no keyword outside the 2020-12 vocabularies,
so that any validator (Ajv in strict mode, Python's jsonschema, ...) takes
them as they are. Their `format`s (date-time, email, uri, uuid) are formats
2020-12 defines; some validators check them only when asked (Ajv: ajv-formats).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from contracts.events import STATUS_STEPS, SUPPORTED_MAJOR, TASK_EVENTS, WIRE_REQUIRED, Envelope

STATUS_EVENTS = tuple(STATUS_STEPS)
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[1] / "docs" / "schemas"
DIALECT = GenerateJsonSchema.schema_dialect

# What a task event's schema says about fields it does not list (see docs/contract.md).
UNKNOWN_FIELDS_IN_A_TASK = (
    "Strict for the publisher: a field this schema does not list is refused here, so that a typo is caught "
    f"before publishing. Consumers ignore unknown top-level fields, so that a newer {SUPPORTED_MAJOR}.x "
    "publisher still reaches an older consumer: a misspelled field is NOT refused by the service."
)
UNKNOWN_FIELDS_IN_A_STATUS = (
    "A receiver should ignore fields this schema does not list: a newer minor version may add some."
)


class StandardJsonSchema(GenerateJsonSchema):
    """pydantic's schema without OpenAPI's `discriminator`: plain `oneOf`, as 2020-12 has it."""

    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> JsonSchemaValue:
        json_schema = super().tagged_union_schema(schema)
        # Each variant's `const` already tells the variants apart.
        json_schema.pop("discriminator", None)
        return json_schema


def schema_id(message_type: str) -> str:
    """The `$id` of a message's schema: the message and the major version it belongs to."""
    return f"urn:offload:v{SUPPORTED_MAJOR}:schema:{message_type}"


def message_schema(model: type[Envelope], *, published_by_clients: bool) -> dict[str, Any]:
    """The JSON Schema of one message's body, as published."""
    message_type = model.routing_key
    schema = model.model_json_schema(schema_generator=StandardJsonSchema)
    # The envelope's defaults serve code that builds events; a publisher sends them.
    schema["required"] = sorted({*schema.get("required", []), *WIRE_REQUIRED})
    schema["additionalProperties"] = not published_by_clients
    unknown_fields = UNKNOWN_FIELDS_IN_A_TASK if published_by_clients else UNKNOWN_FIELDS_IN_A_STATUS
    schema["description"] = f"{schema.get('description', '').strip()}\n\n{unknown_fields}".strip()
    return {"$schema": DIALECT, "$id": schema_id(message_type), **schema}


def message_schemas() -> dict[str, dict[str, Any]]:
    """Each message's `type` (its routing key) and the JSON Schema of its body, as published."""
    schemas = {}
    for model in TASK_EVENTS.values():
        schemas[model.routing_key] = message_schema(model, published_by_clients=True)
    for model in STATUS_EVENTS:
        schemas[model.routing_key] = message_schema(model, published_by_clients=False)
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path = DEFAULT_DIRECTORY) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for message_type, schema in message_schemas().items():
        path = directory / f"{message_type}.json"
        path.write_text(render(schema))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIRECTORY):
        print(path)
