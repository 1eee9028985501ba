"""Each role's broker permissions admit exactly the names it needs, in its namespace only.

RabbitMQ matches a permission regex anywhere in a name (`re:run`), as
`re.search` does; the regexes are anchored, so that is a whole-name match.
"""

import re

import pytest

from contracts.permissions import (
    PUBLISHER,
    ROLES,
    role_permissions,
    status_publishers,
    status_routing_keys,
    user_name,
)
from contracts.topology import SERVICE_TASKS, RetryPolicy, Topology

TOPOLOGY = Topology("offload")
PERMS = role_permissions(TOPOLOGY)
POLICIES = [RetryPolicy(), RetryPolicy(max_attempts=4, first_delay=0.1, multiplier=3.0)]
TASK_KEYS = ["email.requested", "file.requested", "notification.requested", "analysis.requested"]
EXCHANGES = ["offload.events", "offload.retry", "offload.dead"]


def admits(regex: str, name: str) -> bool:
    return re.search(regex, name) is not None


def assert_admits(regex: str, names: list[str]) -> None:
    refused = [name for name in names if not admits(regex, name)]
    assert not refused, f"{regex} refuses {refused}"


def assert_refuses(regex: str, names: list[str]) -> None:
    admitted = [name for name in names if admits(regex, name)]
    assert not admitted, f"{regex} admits {admitted}"


def delay_queues(owner: str) -> list[str]:
    """The delay queues of `owner` under a few retry policies."""
    names = []
    for policy in POLICIES:
        queues = TOPOLOGY.gateway(policy) if owner == "gateway" else TOPOLOGY.service(owner, policy)
        names += [queue.name for queue in queues.delays.values()]
    return names


def test_every_role_has_a_user_of_its_namespace():
    assert set(PERMS) == set(ROLES) == {"gateway", "email", "file", "notify", "analytics", "publisher"}
    assert user_name("offload", "email") == "offload-email"
    with pytest.raises(KeyError):
        user_name("offload", "admin")


def test_a_publisher_may_only_publish_task_requests_on_the_events_exchange():
    publisher = PERMS[PUBLISHER]
    assert_admits(publisher.write, ["offload.events"])
    assert_refuses(
        publisher.write,
        [
            "offload.retry",
            "offload.dead",
            "amq.default",
            "offload.email",
            "offload.eventsx",
            "xoffload.events",
            "offload-events",
            "other.events",
            "offload2.events",
        ],
    )
    assert publisher.topic_exchange == "offload.events"
    assert_admits(publisher.topic_write, TASK_KEYS)
    assert_refuses(
        publisher.topic_write,
        [
            *status_routing_keys(),
            "email.requested.x",
            "x.email.requested",
            "emailXrequested",
            "email",
            "job.*",
            "#",
            "",
        ],
    )
    for regex in (publisher.configure, publisher.read, publisher.topic_read):
        assert_refuses(regex, [*EXCHANGES, "offload.email", "offload.gateway.status", "email.requested"])


@pytest.mark.parametrize("service", ["email", "file", "notify", "analytics"])
def test_a_service_declares_binds_and_consumes_only_its_own_queues(service):
    perms = PERMS[service]
    work, dead = f"offload.{service}", f"offload.{service}.dead"
    delays = delay_queues(service)
    assert_admits(perms.configure, [*EXCHANGES, work, dead, *delays])
    assert_admits(perms.write, [*EXCHANGES, "amq.default", work, dead, *delays])
    assert_admits(perms.read, [*EXCHANGES, work, *delays])
    others = [f"offload.{other}" for other in ("email", "file", "notify", "analytics") if other != service]
    strangers = [
        *others,
        "offload.gateway.status",
        "offload.gateway.dead",
        f"{work}x",
        f"{work}.retry.2x",
        f"{work}.retry.",
        f"{dead}.x",
        f"other.{service}",
        f"offload2.{service}",
        f"other.{service}.dead",
    ]
    for regex in (perms.configure, perms.write, perms.read):
        assert_refuses(regex, strangers)
    assert_refuses(perms.read, [dead])  # declared and bound, never read


@pytest.mark.parametrize("service", ["email", "file", "notify", "analytics"])
def test_a_service_publishes_status_events_and_binds_only_its_task(service):
    perms = PERMS[service]
    key = TOPOLOGY.routing_key(SERVICE_TASKS[service])
    assert_admits(perms.topic_write, list(status_routing_keys()))
    assert_refuses(perms.topic_write, [*TASK_KEYS, "job.succeeded.x", "job.", "job.*", "xjob.succeeded"])
    assert_admits(perms.topic_read, [key])
    assert_refuses(perms.topic_read, [k for k in TASK_KEYS if k != key] + [f"{key}.x", "job.*"])


def test_the_gateway_declares_every_queue_and_publishes_tasks_and_replayed_statuses():
    perms = PERMS["gateway"]
    every = [queue.name for queue in TOPOLOGY.every_queue()]
    own_delays = delay_queues("gateway")
    assert own_delays
    for regex in (perms.configure, perms.read):
        assert_admits(regex, [*EXCHANGES, *every, *own_delays])
    assert_admits(perms.write, [*EXCHANGES, "amq.default", *every, *own_delays])
    service_delays = delay_queues("email")
    for regex in (perms.configure, perms.write, perms.read):
        assert_refuses(
            regex,
            [
                *service_delays,
                "offload.gateway",
                "offload.gateway.statusx",
                "other.gateway.status",
                "offload2.email",
                "offload.events.x",
            ],
        )
    assert_admits(perms.topic_write, [*TASK_KEYS, *status_routing_keys()])
    assert_refuses(perms.topic_write, ["email.requested.x", "job.succeeded.x", "anything"])
    assert_admits(perms.topic_read, ["job.*", *TASK_KEYS])  # the binding keys of every work queue
    assert_refuses(perms.topic_read, ["job.succeeded", "email.requested.x", "#"])


def test_another_namespace_gets_regexes_of_its_own():
    other = role_permissions(Topology("test-a1-3"))
    assert_admits(other["email"].configure, ["test-a1-3.email", "test-a1-3.events"])
    assert_refuses(other["email"].configure, ["offload.email", "test-a1-30.email", "test-a1-3.file"])
    assert_refuses(PERMS["email"].configure, ["test-a1-3.email"])
    assert_admits(other[PUBLISHER].write, ["test-a1-3.events"])
    assert_refuses(other[PUBLISHER].write, ["offload.events", "test-a1-3Xevents"])


def test_the_gateway_believes_each_service_user_for_its_own_service_only():
    assert status_publishers("offload") == {
        "offload-email": {"email"},
        "offload-file": {"file"},
        "offload-notify": {"notify"},
        "offload-analytics": {"analytics"},
    }
