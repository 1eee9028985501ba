"""Fault tests get a RabbitMQ node of their own, which they may stop, kill and restart.

The shared broker on 5672 is never touched: each test that asks for
`fault_broker` gets a fresh node (four to seven seconds to boot here), deleted
with its data when the test ends, whatever state the test left it in.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.rabbit_node import RabbitNode, rabbitmq_installed
from support.system import (  # noqa: F401 - fixtures
    email_service,
    gateway,
    ledger_service,
    processes,
    service_process,
    smtp_server,
)


@pytest.fixture
def fault_broker() -> Iterator[RabbitNode]:
    if not rabbitmq_installed():
        pytest.skip("fault tests start their own RabbitMQ node: rabbitmq-server is not installed here")
    with RabbitNode() as node:
        yield node
