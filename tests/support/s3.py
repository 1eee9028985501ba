"""A real S3 API on loopback: moto's server, one per test session, one bucket per test."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import pytest

from devtools.processes import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "offload-test", "AWS_SECRET_ACCESS_KEY": "offload-test-secret"}
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Bucket:
    endpoint_url: str
    name: str

    @property
    def root(self) -> str:
        return f"s3://{self.name}/files"

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to use this bucket as its storage."""
        return {
            **CREDENTIALS,
            "FILE_STORAGE_ROOT": self.root,
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": REGION,
        }

    def client(self):  # noqa: ANN201 - boto3's client types are generated
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=REGION, **_boto_credentials())


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    command = [server] if server else [sys.executable, "-m", "moto.server"]
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A fresh bucket; the test's own process gets the credentials in its environment."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = S3Bucket(s3_endpoint, f"offload-{uuid.uuid4().hex[:12]}")
    bucket.client().create_bucket(Bucket=bucket.name)
    return bucket
