"""What the gateway answers to odd inputs: a precise 4xx, never a 5xx, and no 202 for work a service would refuse."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.json_bodies import LONE_SURROGATE, NON_FINITE

JSON = {"content-type": "application/json"}
# Integers past what a 64-bit column holds, which plain st.integers() seldom draws.
HUGE = st.integers(min_value=2**62, max_value=2**200) | st.integers(min_value=-(2**200), max_value=-(2**62))
KEY = "ada-0123456789abcdef"
FILTER_BELOW = {"op": "filter", "column": "a", "operator": "<"}
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


@pytest.mark.parametrize("target", [[None, None], [], "https://h.example.com", 3, None])
async def test_a_target_of_no_known_shape_is_a_422(client, target):
    body = {"targets": [target], "title": "t", "body": "b"}
    response = await client.post("/v1/notifications", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "targets", 0]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"to": ["a@example.com"], "subject": "\\ud800", "text": "x"}',
        b'{"to": ["a@example.com"], "subject": "ok", "text": "\\udfff and more"}',
    ],
)
async def test_a_lone_surrogate_in_json_is_a_422(client, raw):
    response = await client.post("/v1/emails", content=raw, headers=JSON)
    assert response.status_code == 422
    assert LONE_SURROGATE in response.json()["detail"][0]["ctx"]["error"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_literals_are_a_422(client, literal):
    raw = f'{{"records": [{{"a": {literal}}}], "operations": [{{"op": "describe"}}]}}'
    response = await client.post("/v1/analytics", content=raw, headers=JSON)
    assert response.status_code == 422
    assert NON_FINITE in response.json()["detail"][0]["ctx"]["error"]


@PROPERTY
@given(exponent=st.integers(min_value=309, max_value=100_000), sign=st.sampled_from(["", "-"]))
async def test_any_number_that_overflows_is_a_422(client, exponent, sign):
    number = f"{sign}1e{exponent}"
    in_a_record = f'{{"records": [{{"a": {number}}}], "operations": [{{"op": "describe"}}]}}'
    in_a_filter = f'{{"records": [{{"a": 1}}], "operations": [{{**FILTER_BELOW, "value": {number}}}]}}'
    in_a_filter = in_a_filter.replace("**FILTER_BELOW", json.dumps(FILTER_BELOW)[1:-1])
    for body in (in_a_record, in_a_filter):
        response = await client.post("/v1/analytics", content=body, headers=JSON)
        assert response.status_code == 422, response.text
        assert "finite" in response.json()["detail"][0]["msg"]


async def test_an_integer_pandas_cannot_hold_is_a_422(client):
    body = {"records": [{"a": 1}], "operations": [{**FILTER_BELOW, "value": 2**64}]}
    response = await client.post("/v1/analytics", json=body)
    assert response.status_code == 422
    assert "64 bits" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    "source", ["../../etc/passwd?://x", "http://example.com/x", ".", "file:///srv/%2e%2e/x", "ftp://h/x"]
)
async def test_a_source_no_service_would_read_is_a_422(client, source):
    response = await client.post("/v1/files", json={"source": source, "operations": ["checksum"]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "source"]


MULTIPART = "multipart/form-data; boundary="


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        (
            MULTIPART + "b",
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
            + b"x" * 20_000
            + b'"\r\n\r\nhi\r\n--b--\r\n',
            "Maximum header size exceeded",
        ),
        (MULTIPART + "b" * 100, b"--b\r\n", "Expected boundary character"),
        (MULTIPART + "b" * 300, b"--b\r\n", "Boundary length"),
        (MULTIPART + "b", b"garbage\r\n--b\r\n\r\n", "Expected boundary character"),
    ],
)
async def test_a_malformed_multipart_body_is_a_400_naming_the_fault(client, content_type, body, reason):
    response = await client.post(
        "/v1/files/upload", params={"operations": "checksum"}, content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 400
    assert reason in response.json()["detail"]


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


@pytest.mark.parametrize(
    "raw, where",
    [
        (b'{"message_ids": ["\\ud800"]}', None),
        (b'{"limit": NaN}', None),
        (b'{"limit": 100000000000000000000000}', ["body", "limit"]),
        (b'{"message_ids": ["' + b"x" * 300 + b'"]}', ["body", "message_ids", 0]),
        (b'{"fingerprint": "' + b"f" * 65 + b'"}', ["body", "fingerprint"]),
    ],
)
async def test_a_replay_request_beyond_its_bounds_is_a_422(client, raw, where):
    response = await client.post("/v1/dead-letters/email/replay", content=raw, headers=JSON)
    assert response.status_code == 422
    if where is not None:
        assert response.json()["detail"][0]["loc"] == where
