"""An AsyncAPI 3.0 document of the wire contract, so that a client in any language can use the broker directly.

`python -m contracts.asyncapi [PATH]` writes it (default: docs/asyncapi.yaml)
from the same models and topology the services run on. The file is
committed, and a test fails when the contracts and the file disagree.

The document is YAML, as AsyncAPI documents usually are. PyYAML is no
dependency of the contracts (a direct publisher in Python needs pydantic
alone), so it is imported only to render the document; it comes with the
`test` extra.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from contracts import headers
from contracts.events import SCHEMA_VERSION, WIRE_REQUIRED
from contracts.failures import FailureRecord
from contracts.headers import DeliveryHeaders, header_schemas
from contracts.schema import message_schemas
from contracts.topology import SERVICE_TASKS, Exchange, Queue, RetryPolicy, ServiceQueues, Topology

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.yaml"

AMQP_BINDING_VERSION = "0.3.0"
VHOST = "/"
DEAD_LETTER = "DeadLetter"

# A client publishes a task event persistent (delivery mode 2) and mandatory, and acks a status event it took.
SEND_BINDING = {"deliveryMode": 2, "mandatory": True}
RECEIVE_BINDING = {"ack": True}

# Who published the message a copy was passed on from: a plain text header,
# read by the broker wrapper (runtime.broker) and by no model.
PUBLISHED_BY_HEADER = {
    "type": "string",
    "description": "The broker user who published the message this one was passed on from.",
}


def dead_letter_headers() -> dict[str, dict[str, Any]]:
    """Headers a dead letter carries on top of those it was published with, from the models that read them.

    The failure record comes first. The delivery headers after it are also read
    by a consumer: a value outside their bounds (or of another type) makes the
    message invalid, and it is dead-lettered before it is worked on.
    """
    failure = header_schemas(FailureRecord)
    delivery = {name: schema for name, schema in header_schemas(DeliveryHeaders).items() if name not in failure}
    return {**failure, headers.PUBLISHED_BY: PUBLISHED_BY_HEADER, **delivery}


def document(topology: Topology | None = None) -> dict[str, Any]:
    """The AsyncAPI document of `topology` (default: the default namespace)."""
    topology = topology or Topology()
    services = {topology.routing_key(task): service for service, task in SERVICE_TASKS.items()}
    schemas = message_schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for routing_key, schema in schemas.items():
        name = schema["title"]
        if routing_key in services:
            queues = topology.service(services[routing_key], RetryPolicy())
            channels[routing_key] = _task_channel(topology, queues, name)
            how = _how_to_send(topology, routing_key)
            operations[f"send{name}"] = _operation("send", routing_key, name, how, SEND_BINDING)
        else:
            channels[routing_key] = _status_channel(topology, routing_key, name)
            how = _how_to_receive(topology)
            operations[f"receive{name}"] = _operation("receive", routing_key, name, how, RECEIVE_BINDING)
    owners = [*(topology.service(service) for service in SERVICE_TASKS), topology.gateway()]
    for owner in owners:
        channels[owner.dead.name] = _dead_letter_channel(owner.service, owner.dead)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Offload",
            "version": SCHEMA_VERSION,
            "description": (
                "Offload's wire contract: the task events a client publishes to have work done, the status "
                "events that report on each job, and the dead-letter queues where failed work ends up. "
                "Generated from the `contracts` package by `python -m contracts.asyncapi`; do not edit.\n\n"
                f"Names are those of the default namespace, `{topology.namespace}`: a deployment's "
                "`OFFLOAD_NAMESPACE` prefixes every exchange and queue name instead (routing keys stay). "
                "Operations are seen from a client of the broker: it sends task events and may receive "
                "status events."
            ),
        },
        "defaultContentType": headers.CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The default local broker; a deployment names its own in `AMQP_URL`.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": component_schemas(schemas),
            "messages": {
                **{schema["title"]: _message(schema["title"], key) for key, schema in schemas.items()},
                DEAD_LETTER: _dead_letter_message(topology),
            },
            "correlationIds": {
                "job": {
                    "description": "The job a message is about: its task event and status events share it.",
                    "location": "$message.payload#/job_id",
                }
            },
        },
    }


def _task_channel(topology: Topology, queues: ServiceQueues, message: str) -> dict[str, Any]:
    delays = ", ".join(f"`{queue.name}`" for queue in queues.delays.values())
    return _events_channel(
        topology,
        queues.work.bindings[0].routing_key,
        message,
        f"Work for the {queues.service} service, routed to its quorum queue `{queues.work.name}`. A failed "
        f"attempt waits in a delay queue (with the default retry policy: {delays}); a message that fails "
        f"for good goes to `{queues.dead.name}`.",
    )


def _status_channel(topology: Topology, routing_key: str, message: str) -> dict[str, Any]:
    return _events_channel(
        topology,
        routing_key,
        message,
        "A fact about a job, reported as the job moves. The gateway folds these into its job store "
        f"through `{topology.gateway().work.name}`, bound with `{_status_pattern(topology)}`.",
    )


def _status_pattern(topology: Topology) -> str:
    """The binding key that catches every status event."""
    return topology.gateway().work.bindings[0].routing_key


def _events_channel(topology: Topology, routing_key: str, message: str, description: str) -> dict[str, Any]:
    return {
        "address": routing_key,
        "description": description,
        "messages": {message: _ref("components", "messages", message)},
        "bindings": {"amqp": _exchange_binding(topology.events)},
    }


def _dead_letter_channel(owner: str, queue: Queue) -> dict[str, Any]:
    binding = queue.bindings[0]
    return {
        "address": queue.name,
        "description": (
            f"Messages the {owner} consumer gave up on: a quorum queue bound to `{binding.exchange}` with "
            f"`{binding.routing_key}`. List and replay them with `offload dlq list --service {owner}` "
            f"and `offload dlq replay {owner}`; consuming from it would drop them."
        ),
        "messages": {DEAD_LETTER: _ref("components", "messages", DEAD_LETTER)},
        "bindings": {"amqp": _queue_binding(queue)},
    }


def _how_to_send(topology: Topology, routing_key: str) -> str:
    wire_required = ", ".join(f"`{name}`" for name in WIRE_REQUIRED)
    return (
        f"Publish to `{topology.events.name}` with routing key `{routing_key}`, mandatory and with publisher "
        f"confirms, the body's `message_id` as the message's `message_id` property. A body without "
        f"{wire_required} is dead-lettered."
    )


def _how_to_receive(topology: Topology) -> str:
    return (
        f"Bind a queue of your own to `{topology.events.name}` with `{_status_pattern(topology)}` to follow "
        "jobs. Status events are published without `mandatory`: nobody has to listen."
    )


def _operation(action: str, channel: str, message: str, description: str, amqp: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": action,
        "channel": _ref("channels", channel),
        "description": description,
        "messages": [_ref("channels", channel, "messages", message)],
        "bindings": {"amqp": {**amqp, "bindingVersion": AMQP_BINDING_VERSION}},
    }


def _message(name: str, routing_key: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": routing_key,
        "contentType": headers.CONTENT_TYPE,
        "correlationId": _ref("components", "correlationIds", "job"),
        "payload": _ref("components", "schemas", name),
        # The runtime sets the AMQP `type` property to the routing key.
        "bindings": {"amqp": {"messageType": routing_key, "bindingVersion": AMQP_BINDING_VERSION}},
    }


def _dead_letter_message(topology: Topology) -> dict[str, Any]:
    return {
        "name": DEAD_LETTER,
        "title": "A dead letter",
        "description": (
            "A message that failed for good, with its body, content type and `message_id` untouched. "
            "Offload's consumer says why in the `x-offload-*` headers; a message the broker dead-lettered "
            f"itself (its consumer crashed on it {topology.delivery_limit} times over) carries RabbitMQ's "
            "`x-death` header instead."
        ),
        "headers": {"type": "object", "properties": _sorted_fields(dead_letter_headers())},
        "payload": {"description": "The body as it was published, which may be one that could not be read."},
    }


def _exchange_binding(exchange: Exchange) -> dict[str, Any]:
    # Every exchange and queue is declared durable (runtime.broker).
    return {
        "is": "routingKey",
        "exchange": {
            "name": exchange.name,
            "type": exchange.type,
            "durable": True,
            "autoDelete": False,
            "vhost": VHOST,
        },
        "bindingVersion": AMQP_BINDING_VERSION,
    }


def _queue_binding(queue: Queue) -> dict[str, Any]:
    return {
        "is": "queue",
        "queue": {"name": queue.name, "durable": True, "exclusive": False, "autoDelete": False, "vhost": VHOST},
        "bindingVersion": AMQP_BINDING_VERSION,
    }


def component_schemas(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each message's schema under its title, the models it nests beside it, every `$ref` pointing there."""
    components: dict[str, Any] = {}
    for schema in schemas.values():
        # Embedded, a schema is no document of its own: an `$id` would move the base its `$ref`s resolve against.
        schema = _in_components({key: value for key, value in schema.items() if key not in ("$schema", "$id")})
        nested = schema.pop("$defs", {})
        for name, definition in {**nested, schema["title"]: schema}.items():
            if components.setdefault(name, definition) != definition:
                raise ValueError(f"two different schemas are named {name!r}")
    return _sorted({name: components[name] for name in sorted(components)})


def _in_components(node: Any) -> Any:
    """A copy of a pydantic schema that points its `$ref`s into `components/schemas`."""
    if isinstance(node, list):
        return [_in_components(item) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {}
    for key, value in node.items():
        if key == "$ref":
            copied[key] = value.replace("#/$defs/", "#/components/schemas/", 1)
        else:
            copied[key] = _in_components(value)
    return copied


def _sorted_fields(properties: dict[str, Any]) -> dict[str, Any]:
    """Each property's schema with its keys sorted, the properties kept in their order."""
    return {name: _sorted(schema) for name, schema in properties.items()}


def _sorted(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _sorted(node[key]) for key in sorted(node)}
    if isinstance(node, list):
        return [_sorted(item) for item in node]
    return node


def _ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in path)}


def render(asyncapi: dict[str, Any]) -> str:
    import yaml  # only to render: see the module docstring

    return yaml.safe_dump(asyncapi, sort_keys=False, allow_unicode=True, width=110)


def write(path: Path = DEFAULT_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(document()))
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH))
