"""Real SMTP servers (aiosmtpd, in a thread) for the email service to talk to."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from devtools.processes import free_port
from email_service.settings import EmailSettings
from support.smtp import DeferringHandler, PickyHandler, Received, RecordingHandler  # noqa: F401 - re-exported to tests

HOST = "127.0.0.1"
USERNAME = "offload"
PASSWORD = "s3cret"


@dataclass
class Sink:
    handler: RecordingHandler
    port: int
    host: str = HOST
    # The username and password the sink accepts, when it asks for any.
    credentials: tuple[str, str] | None = None

    def settings(self, **overrides: Any) -> EmailSettings:
        """Settings that point the email service at this sink."""
        return EmailSettings(
            _env_file=None,
            smtp_host=self.host,
            smtp_port=self.port,
            smtp_timeout=5,
            **overrides,
        )


@pytest.fixture
def start_sink() -> Iterator[Callable[..., Sink]]:
    """Start an aiosmtpd server; keyword arguments go to its Controller and SMTP classes."""
    running: list[Controller] = []

    def start(handler: RecordingHandler | None = None, **smtp_options: Any) -> Sink:
        sink = Sink(handler or RecordingHandler(), free_port())
        controller = Controller(sink.handler, hostname=sink.host, port=sink.port, **smtp_options)
        controller.start()
        running.append(controller)
        return sink

    yield start
    for controller in running:
        controller.stop()


@pytest.fixture
def sink(start_sink) -> Sink:
    return start_sink()


@pytest.fixture
def unreachable() -> Sink:
    """A sink that was never started: nothing listens on its port."""
    return Sink(RecordingHandler(), free_port())


@pytest.fixture
def picky_sink(start_sink) -> Sink:
    return start_sink(PickyHandler())


@pytest.fixture
def deferring_sink(start_sink) -> Sink:
    return start_sink(DeferringHandler())


def _check_credentials(server, session, envelope, mechanism, auth_data) -> AuthResult:
    valid = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=valid, handled=False)


@pytest.fixture
def auth_sink(start_sink) -> Sink:
    # Plain-text AUTH is fine on loopback; a real server would demand TLS first.
    sink = start_sink(authenticator=_check_credentials, auth_required=True, auth_require_tls=False)
    sink.credentials = (USERNAME, PASSWORD)
    return sink


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate and key for localhost."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def server_tls_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def starttls_sink(start_sink, server_tls_context) -> Sink:
    return start_sink(tls_context=server_tls_context, require_starttls=True)


@pytest.fixture
def implicit_tls_sink(start_sink, server_tls_context) -> Sink:
    return start_sink(ssl_context=server_tls_context)
