"""A gateway with API_KEYS: the /v1 API needs a key, probes and metrics do not."""

import re

import httpx

KEY = "e2e-key-0123456789abcdef"
HELLO = {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"}


def test_the_api_needs_a_key_and_probes_do_not(gateway):
    client = gateway(API_KEYS=f"other-key-0123456789abcdef,{KEY}")
    with_key = {"Authorization": f"Bearer {KEY}"}

    refused = client.post("/v1/emails", json=HELLO)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert client.post("/v1/emails", json=HELLO, headers={"Authorization": "Bearer wrong"}).status_code == 401
    # Every operation of the API, as its OpenAPI document lists them, refuses a request without a key.
    paths = client.get("/openapi.json").json()["paths"]
    operations = [(method, path) for path, item in paths.items() for method in item if path.startswith("/v1/")]
    assert len(operations) >= 9
    for method, path in operations:
        url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        assert client.request(method, url).status_code == 401, (method, path)

    accepted = client.post("/v1/emails", json=HELLO, headers=with_key)
    assert accepted.status_code == 202
    job = client.get(accepted.json()["status_url"], headers=with_key)
    assert job.status_code == 200 and job.json()["job_id"] == accepted.json()["job_id"]

    for probe in ("/healthz", "/readyz", "/metrics"):
        assert client.get(probe).status_code == 200, probe
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes == {"APIKey": {"type": "http", "scheme": "bearer", "description": "One of the gateway's API_KEYS."}}


def test_without_api_keys_the_api_is_open(gateway):
    client: httpx.Client = gateway()
    assert client.post("/v1/emails", json=HELLO).status_code == 202
    assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})
