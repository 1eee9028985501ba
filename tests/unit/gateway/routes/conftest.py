"""The gateway's real app with a stand-in gateway behind its routes: no job store, no broker.

The app is never entered as a context manager, so its lifespan (which opens
the job store and connects to the broker) does not run; every route gets the
stand-in through `app.dependency_overrides`. Storage is real: a local
directory of the test's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.routes.deps import get_gateway
from gateway.settings import GatewaySettings
from support.stand_in_gateway import StandInGateway


@pytest.fixture
def settings(tmp_path: Path) -> GatewaySettings:
    # Caps small enough for a test's records to cross: more than 50 inline
    # records is a 413, more than 1000 bytes of them as JSON go to storage.
    return GatewaySettings(
        _env_file=None,
        file_storage_root=str(tmp_path / "files"),
        max_inline_records=50,
        inline_records_spill_bytes=1000,
        api_keys=None,
    )


@pytest.fixture
def gateway(settings: GatewaySettings) -> StandInGateway:
    return StandInGateway(settings, settings.storage())


@pytest.fixture
def client(settings: GatewaySettings, gateway: StandInGateway) -> TestClient:
    app = create_app(settings)
    app.dependency_overrides[get_gateway] = lambda: gateway
    return TestClient(app)
