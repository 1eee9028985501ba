"""The system as separate processes: gateway, email_service, and a loopback SMTP server.

Fixtures for the end-to-end and fault tests, which import them into their
conftest. Every process is configured by environment, as in a deployment,
and stopped with SIGTERM after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from contracts.topology import Topology
from devtools.broker_users import trusting
from devtools.processes import Process, free_port
from support.smtp import RecordingHandler
from support.topology import TEST_RETRY


def broker_env(amqp_url: str, topology: Topology) -> dict[str, str]:
    return {
        "AMQP_URL": amqp_url,
        "OFFLOAD_NAMESPACE": topology.namespace,
        "RETRY_MAX_ATTEMPTS": str(TEST_RETRY.max_attempts),
        "RETRY_FIRST_DELAY": str(TEST_RETRY.first_delay),
        "RETRY_MULTIPLIER": str(TEST_RETRY.multiplier),
        "RETRY_MAX_DELAY": str(TEST_RETRY.max_delay),
    }


@pytest.fixture
def processes(tmp_path: Path, amqp: Any) -> Iterator[Callable[..., Process]]:
    """Start `python -m <module>` children; all are stopped (SIGTERM) after the test,
    before `amqp` deletes the test's queues (a running service would declare them again)."""
    started: list[Process] = []

    def start(
        module: str, env: dict[str, str], health_url: str | None = None, wait: bool = True, **options: Any
    ) -> Process:
        process = Process(module, env, tmp_path, health_url, **options)
        started.append(process)  # before it starts, so that a failed start is cleaned up too
        return process.start(30.0 if wait else None)

    yield start
    for process in reversed(started):
        process.stop()


class GatewayClient(httpx.Client):
    """An HTTP client for one gateway, and the gateway's process."""

    def __init__(self, process: Process, base_url: str) -> None:
        super().__init__(base_url=base_url, timeout=10)
        self.process = process


@pytest.fixture
def gateway(processes, amqp_url, topology, amqp, tmp_path) -> Callable[..., GatewayClient]:
    """Start a gateway; returns an HTTP client for it."""

    def start(wait_for: str = "ready", **env: str) -> GatewayClient:
        """`wait_for`: the /readyz status to wait for ("degraded" when no broker is reachable)."""
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = {
            **broker_env(amqp_url, topology),
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/jobs-{port}.db",
            "FILE_STORAGE_ROOT": str(tmp_path / "files"),
            # Every process here logs in as one user (guest); the role users are
            # tested in tests/integration/gateway/test_status_trust.py.
            "STATUS_PUBLISHERS": trusting(amqp_url),
            **env,
        }
        # Fully ready means attached to the broker, so its status queue exists.
        process = processes(
            "gateway", settings, health_url=base + "/readyz", ready=lambda r: r.json()["status"] == wait_for
        )
        return GatewayClient(process, base)

    return start


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[RecordingHandler, int]]]:
    controllers: list[Controller] = []

    def start(handler: RecordingHandler | None = None) -> tuple[RecordingHandler, int]:
        handler = handler or RecordingHandler()
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return handler, port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def service_process(processes, amqp_url, topology, tmp_path) -> Callable[..., Process]:
    """Start a service module in the test's namespace, with a health port and an inbox of its
    own: one per service, shared by all its copies in a test, as on one host."""

    def start(module: str, inbox: str, env: dict[str, str], wait: bool = True, args: Sequence[str] = ()) -> Process:
        health = free_port()
        settings = {
            **broker_env(amqp_url, topology),
            "HEALTH_PORT": str(health),
            "HEALTH_HOST": "127.0.0.1",
            "INBOX_URL": f"sqlite+aiosqlite:///{tmp_path}/{inbox}-inbox.db",
            **env,
        }
        return processes(module, settings, health_url=f"http://127.0.0.1:{health}/readyz", wait=wait, args=args)

    return start


@pytest.fixture
def email_service(service_process) -> Callable[..., Process]:
    def start(smtp_port: int, args: Sequence[str] = (), **env: str) -> Process:
        smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_TIMEOUT": "10"}
        return service_process("email_service", "email", {**smtp, **env}, args=args)

    return start


@pytest.fixture
def ledger_service(service_process, tmp_path) -> Callable[..., Process]:
    """Start `devtools.ledger_service`; its effects go to `tmp_path / "ledger"`."""

    def start(wait: bool = True, **env: str) -> Process:
        ledger = {"LEDGER_PATH": str(tmp_path / "ledger")}
        return service_process("devtools.ledger_service", "ledger", {**ledger, **env}, wait=wait)

    return start


def on_the_gateway_files(service_process, tmp_path, module: str, inbox: str) -> Callable[..., Process]:
    """Start `module` on the same storage root as the `gateway` fixture's, unless FILE_STORAGE_ROOT says another."""

    def start(**env: str) -> Process:
        return service_process(module, inbox, {"FILE_STORAGE_ROOT": str(tmp_path / "files"), **env})

    return start


@pytest.fixture
def file_service(service_process, tmp_path) -> Callable[..., Process]:
    return on_the_gateway_files(service_process, tmp_path, "file_service", "file")


@pytest.fixture
def notify_service(service_process, tmp_path) -> Callable[..., Process]:
    def start(**env: str) -> Process:
        notify = {
            "NOTIFY_TIMEOUT": "5",
            # One deliveries table for all copies of the service in a test, as on one host.
            "NOTIFY_DELIVERIES_URL": f"sqlite+aiosqlite:///{tmp_path}/notify-deliveries.db",
        }
        return service_process("notify_service", "notify", {**notify, **env})

    return start


@pytest.fixture
def analytics_service(service_process, tmp_path) -> Callable[..., Process]:
    return on_the_gateway_files(service_process, tmp_path, "analytics_service", "analytics")
