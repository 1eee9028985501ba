"""API_KEYS: how the setting is read, and what the guard lets through."""

import httpx
import pytest
from pydantic import ValidationError
from starlette.responses import JSONResponse

from gateway.auth import ApiKeyMiddleware, ApiKeys
from gateway.settings import GatewaySettings

ADA = "ada-0123456789abcdef"
BOB = "bob-0123456789abcdef"


@pytest.mark.parametrize("value", [None, "", " , "])
def test_unset_or_empty_keys_leave_the_api_open(value, monkeypatch):
    monkeypatch.delenv("API_KEYS", raising=False)
    settings = GatewaySettings(api_keys=value) if value is not None else GatewaySettings()
    assert settings.api_keys is None and settings.api_key_list() == []


def test_keys_are_a_comma_separated_list():
    assert GatewaySettings(api_keys=f" {ADA}, {BOB} ,").api_key_list() == [ADA, BOB]


def test_a_short_key_is_refused_by_its_position_without_showing_it():
    with pytest.raises(ValidationError, match="API_KEYS: key 2 is shorter than 16 characters") as refused:
        GatewaySettings(api_keys=f"{ADA},tooshort")
    assert "tooshort" not in str(refused.value)


@pytest.fixture
async def client():
    async def thing(scope, receive, send) -> None:
        await JSONResponse({"ok": True})(scope, receive, send)

    app = ApiKeyMiddleware(thing, [ADA, BOB])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client:
        yield client


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "this API needs a key: send `Authorization: Bearer <key>`"),
        (f"Basic {ADA}", "this API needs a key: send `Authorization: Bearer <key>`"),
        ("Bearer", "this API needs a key: send `Authorization: Bearer <key>`"),
        ("Bearer not-a-key-at-all-123", "the API key is not one of this gateway's"),
        (f"Bearer {ADA}x", "the API key is not one of this gateway's"),
    ],
)
async def test_a_request_without_a_known_key_gets_401_and_a_bearer_challenge(client, authorization, detail):
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get("/v1/thing", headers=headers)
    assert (response.status_code, response.json()) == (401, {"detail": detail})
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("key", [ADA, BOB])
async def test_each_key_lets_a_request_in(client, key):
    response = await client.get("/v1/thing", headers={"Authorization": f"bearer {key}"})
    assert response.json() == {"ok": True}


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/v10/x"])
async def test_only_the_v1_api_needs_a_key(client, path):
    assert (await client.get(path)).json() == {"ok": True}


def test_a_check_without_keys_is_a_mistake():
    with pytest.raises(ValueError, match="at least one key"):
        ApiKeys([])
