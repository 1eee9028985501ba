"""JSON Schema for every message, so that publishers in any language can check theirs.

`python -m contracts.schema [DIRECTORY]` writes one `<type>.json` per message
(default: docs/schemas). The files are committed, and a test fails when the
models and the files disagree, so a change to the contract is always a
visible change to the repository.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from contracts.events import (
    TASK_EVENTS,
    WIRE_REQUIRED,
    JobDeadLettered,
    JobProgressed,
    JobQueued,
    JobRetryScheduled,
    JobStarted,
    JobSucceeded,
)

STATUS_EVENTS = (JobQueued, JobStarted, JobProgressed, JobSucceeded, JobRetryScheduled, JobDeadLettered)
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def message_schemas() -> dict[str, dict[str, Any]]:
    """Each message's `type` (its routing key) and the JSON Schema of its body, as published."""
    schemas = {}
    for model in [*TASK_EVENTS.values(), *STATUS_EVENTS]:
        schema = model.model_json_schema()
        # The envelope's defaults serve code that builds events; a publisher sends them.
        schema["required"] = sorted({*schema.get("required", []), *WIRE_REQUIRED})
        schemas[model.model_fields["type"].default] = schema
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
