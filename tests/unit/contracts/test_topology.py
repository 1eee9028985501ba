"""Invariants of the broker topology, which every process declares from one place."""

from __future__ import annotations

import pytest

from contracts.events import TASK_EVENTS
from contracts.topology import GATEWAY, SERVICE_TASKS, RetryPolicy, Topology

RETRY = RetryPolicy(max_attempts=5, first_delay=1, multiplier=2, max_delay=5)


def test_queue_and_exchange_names_are_unique_and_namespaced():
    topology = Topology(namespace="acme")
    queues = [queue.name for queue in topology.every_queue(RETRY)]
    exchanges = [exchange.name for exchange in topology.exchanges()]
    assert len(set(queues)) == len(queues)
    assert len(set(exchanges)) == len(exchanges)
    assert all(name.startswith("acme.") for name in queues + exchanges)


def test_every_task_event_is_bound_to_exactly_one_work_queue():
    topology = Topology()
    bound = [binding.routing_key for queue in topology.every_queue() for binding in queue.bindings]
    for event in TASK_EVENTS.values():
        assert bound.count(event.routing_key) == 1


@pytest.mark.parametrize("owner", [*SERVICE_TASKS, "gateway"])
def test_every_work_queue_dead_letters_into_its_own_dead_letter_queue(owner):
    topology = Topology(delivery_limit=7)
    queues = topology.gateway(RETRY) if owner == "gateway" else topology.service(owner, RETRY)
    args = queues.work.arguments
    assert args["x-queue-type"] == "quorum"
    assert args["x-delivery-limit"] == 7
    assert args["x-dead-letter-strategy"] == "at-least-once"
    assert args["x-overflow"] == "reject-publish"  # required by at-least-once dead-lettering
    # The dead-letter exchange routes the work queue's dead letters to its dead-letter queue.
    [dead_binding] = queues.dead.bindings
    assert (dead_binding.exchange, dead_binding.routing_key) == (
        args["x-dead-letter-exchange"],
        args["x-dead-letter-routing-key"],
    )


def test_a_consumer_is_found_by_name_with_the_task_its_queue_carries():
    topology = Topology()
    for service, task in SERVICE_TASKS.items():
        assert topology.consumer(service, RETRY) == topology.service(service, RETRY)
        assert topology.consumer(service).task is task and not topology.consumer(service).tries_in_header
    # The status queue carries facts about jobs, not jobs: their tries are counted in a header.
    assert topology.consumer(GATEWAY) == topology.gateway()
    assert topology.consumer(GATEWAY).task is None and topology.consumer(GATEWAY).tries_in_header
    with pytest.raises(KeyError):
        topology.consumer("fax")


def test_delay_queues_hand_messages_back_to_their_work_queue_after_their_ttl():
    queues = Topology().service("email", RETRY)
    assert sorted(queues.delays) == [1, 2, 4, 5]
    for seconds, queue in queues.delays.items():
        assert queue.arguments["x-message-ttl"] == seconds * 1000
        assert queue.arguments["x-dead-letter-exchange"] == ""  # the default exchange routes by queue name
        assert queue.arguments["x-dead-letter-routing-key"] == queues.work.name
        [binding] = queue.bindings
        assert (binding.exchange, binding.routing_key) == (Topology().retry.name, queue.name)


def test_delay_queue_names_carry_their_delay_so_policies_never_clash():
    fast = Topology().service("email", RetryPolicy(max_attempts=3, first_delay=0.25, multiplier=2))
    assert [queue.name for queue in fast.delays.values()] == ["offload.email.retry.250ms", "offload.email.retry.500ms"]


def test_retry_policy_backs_off_exponentially_up_to_its_cap():
    assert [RETRY.delay_after(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    with pytest.raises(ValueError, match="not a usable retry policy"):
        RetryPolicy(max_attempts=0)


def test_unknown_service_is_named_in_the_error():
    with pytest.raises(KeyError, match="unknown service 'fax'"):
        Topology().service("fax")


def test_long_job_services_may_hold_a_delivery_longer():
    topology = Topology()
    timeout = {name: topology.service(name).work.arguments["x-consumer-timeout"] for name in SERVICE_TASKS}
    assert timeout["file"] == timeout["analytics"] == 6 * 3600 * 1000
    assert timeout["email"] == 30 * 60 * 1000
