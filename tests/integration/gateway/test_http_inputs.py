"""What the gateway answers to odd inputs where its job store or its middleware has a say: a precise 4xx, never a 5xx.

The rules of one route alone (bodies, headers, query parameters) are tested at
the route level, in tests/unit/gateway/routes.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON = {"content-type": "application/json"}
# Integers past what a 64-bit column holds, which plain st.integers() seldom draws.
HUGE = st.integers(min_value=2**62, max_value=2**200) | st.integers(min_value=-(2**200), max_value=-(2**62))
KEY = "ada-0123456789abcdef"
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
async def client(inprocess_gateway):
    async with inprocess_gateway() as client:
        yield client


@pytest.mark.parametrize("offset", ["608158859879556317569875968", "9223372036854775808"])
async def test_an_offset_beyond_the_store_is_a_422(client, offset):
    response = await client.get("/v1/jobs", params={"offset": offset})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "offset"]


async def test_the_largest_offset_the_store_holds_is_an_empty_page(client):
    response = await client.get("/v1/jobs", params={"offset": 2**63 - 1})
    assert (response.status_code, response.json()["jobs"]) == (200, [])


@PROPERTY
@given(offset=st.integers() | HUGE, limit=st.integers() | HUGE)
async def test_any_integer_offset_or_limit_is_answered_200_or_422(client, offset, limit):
    response = await client.get("/v1/jobs", params={"offset": offset, "limit": limit})
    assert response.status_code in (200, 422)


MULTIPART = "multipart/form-data; boundary="


@pytest.fixture
async def keyed_client(inprocess_gateway):
    async with inprocess_gateway(api_keys=KEY) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/v1/emails", "application/json", b'{"to": [nope'),
        ("/v1/analytics", "application/json", b"[" * 5000),
        ("/v1/files/upload?operations=checksum", MULTIPART + "b", b"garbage"),
        ("/v1/files/upload?operations=not-an-operation", "text/plain", b""),
        ("/v1/dead-letters/email/replay", "application/json", b"{"),
    ],
)
async def test_without_a_key_a_request_is_refused_before_its_body_is_read(keyed_client, path, content_type, body):
    response = await keyed_client.post(path, content=body, headers={"content-type": content_type})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "this API needs a key: send `Authorization: Bearer <key>`"}


async def test_with_a_key_the_body_is_judged(keyed_client):
    response = await keyed_client.post(
        "/v1/emails", content=b'{"to": [nope', headers={**JSON, "Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 422


async def test_the_api_description_stays_open_and_shows_the_scheme(keyed_client):
    response = await keyed_client.get("/openapi.json")
    assert response.status_code == 200
    assert "APIKey" in json.dumps(response.json()["components"]["securitySchemes"])
