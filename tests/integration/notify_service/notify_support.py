"""Helpers of the notify integration tests: events, a browser's push subscription, a service account."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pytest_httpserver import HTTPServer

from contracts.events import NotificationRequested
from runtime.job import JobContext

WEBHOOK_SECRET = "whsec-integration"


def job_of(event: NotificationRequested) -> JobContext:
    return JobContext(event.job_id, event.attempt)


def webhooks(provider: HTTPServer, *paths: str, **fields: Any) -> NotificationRequested:
    return NotificationRequested(
        provider="webhook",
        targets=[{"url": provider.url_for(path)} for path in paths],
        title=fields.pop("title", "Build finished"),
        body=fields.pop("body", "All green"),
        **fields,
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Subscription:
    """A browser's push subscription: the endpoint, and the keys only the browser holds privately."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @classmethod
    def new(cls, endpoint: str) -> Subscription:
        return cls(endpoint, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    def as_target(self) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth_secret)}}


@dataclass
class ServiceAccount:
    """A Firebase service-account key made for the test, and the public half the token server checks with."""

    file: Path
    public_pem: bytes
    client_email: str = "notify@offload-test.iam.gserviceaccount.com"
    project_id: str = "offload-test"

    @classmethod
    def create(cls, directory: Path, token_url: str) -> ServiceAccount:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        account = cls(
            directory / f"service-account-{uuid4().hex[:6]}.json",
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        )
        account.file.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": account.project_id,
                    "private_key_id": "test-key-1",
                    "private_key": pem,
                    "client_email": account.client_email,
                    "token_uri": token_url,
                }
            )
        )
        return account
