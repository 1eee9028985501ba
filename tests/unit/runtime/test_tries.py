"""Counting tries in the body (tasks) or in a header (status events), and resetting them for a replay."""

from __future__ import annotations

import json

from contracts import headers
from contracts.events import EmailRequested, JobStarted
from contracts.headers import DeliveryHeaders
from contracts.topology import SERVICE_TASKS, Topology
from runtime.tries import TriesInBody, TriesInHeader, tries_of


def an_email(**fields: object) -> EmailRequested:
    return EmailRequested(**{"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada", **fields})


def test_a_task_counts_its_tries_in_its_body():
    event = an_email(attempt=2)
    tries = TriesInBody()
    assert tries.attempt(event, DeliveryHeaders.model_validate({headers.ATTEMPT: 4})) == 2

    body, carried = tries.next_try(event.model_dump_json().encode(), event, 2, {"x-other": 1})
    assert EmailRequested.model_validate_json(body).attempt == 3
    assert carried == {"x-other": 1}


def test_a_status_event_counts_its_tries_in_a_header_and_keeps_its_body():
    event = JobStarted(task_type="email", service="email", attempt=2)
    original = event.model_dump_json().encode()
    tries = TriesInHeader()
    assert tries.attempt(event, DeliveryHeaders()) == 1
    assert tries.attempt(event, DeliveryHeaders.model_validate({headers.ATTEMPT: 3})) == 3

    body, carried = tries.next_try(original, event, 3, {"x-other": 1})
    assert body is original
    assert carried == {"x-other": 1, headers.ATTEMPT: 4}


def test_a_replay_is_a_first_try_either_way():
    task = an_email(attempt=3).model_dump_json().encode()
    body, carried = TriesInBody().first_try(task, {headers.ATTEMPT: 3, headers.REPLAYS: 1})
    assert json.loads(body)["attempt"] == 1 and carried == {headers.REPLAYS: 1}

    status = JobStarted(task_type="email", service="email", attempt=3).model_dump_json().encode()
    body, carried = TriesInHeader().first_try(status, {headers.ATTEMPT: 3, headers.REPLAYS: 1})
    assert body is status and carried == {headers.REPLAYS: 1}


def test_only_the_gateway_counts_tries_in_a_header():
    topology = Topology()
    assert isinstance(tries_of(topology.gateway()), TriesInHeader)
    assert all(isinstance(tries_of(topology.service(service)), TriesInBody) for service in SERVICE_TASKS)
