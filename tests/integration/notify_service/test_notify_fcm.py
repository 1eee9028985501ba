"""FCM HTTP v1 against a real loopback server that plays both the OAuth2 token endpoint and the API."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from google.auth import jwt
from notify_support import ServiceAccount, job_of
from werkzeug import Request, Response

from contracts.events import NotificationRequested
from notify_service.providers.fcm import JWT_BEARER
from notify_service.service import notify_handler
from notify_service.settings import FCM_SCOPE
from runtime.errors import PermanentError, TransientError

ACCESS_TOKEN = "ya29.test-token"


class FakeFirebase:
    """Issues a token for a correctly signed assertion, and accepts messages that carry it."""

    def __init__(self, account: ServiceAccount, token_url: str) -> None:
        self.account = account
        self.token_url = token_url
        self.tokens_issued = 0
        self.messages: list[dict] = []

    def token(self, request: Request) -> Response:
        form = parse_qs(request.get_data(as_text=True))
        assert form["grant_type"] == [JWT_BEARER]
        try:
            claims = jwt.decode(form["assertion"][0], certs=self.account.public_pem, audience=self.token_url)
        except ValueError as error:
            return Response(json.dumps({"error": "invalid_grant", "error_description": str(error)}), status=400)
        assert claims["iss"] == self.account.client_email and claims["scope"] == FCM_SCOPE
        self.tokens_issued += 1
        body = {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"}
        return Response(json.dumps(body), content_type="application/json")

    def send(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return Response(json.dumps({"error": {"code": 401, "status": "UNAUTHENTICATED"}}), status=401)
        message = request.get_json()["message"]
        self.messages.append(message)
        if message["token"] == "expired-token":
            error = {"code": 404, "status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}
            return Response(json.dumps({"error": error}), status=404, content_type="application/json")
        name = f"projects/{self.account.project_id}/messages/{len(self.messages)}"
        return Response(json.dumps({"name": name}), content_type="application/json")


@pytest.fixture
def firebase(provider, tmp_path) -> FakeFirebase:
    token_url = provider.url_for("/token")
    fake = FakeFirebase(ServiceAccount.create(tmp_path, token_url), token_url)
    provider.expect_request("/token", method="POST").respond_with_handler(fake.token)
    path = f"/v1/projects/{fake.account.project_id}/messages:send"
    provider.expect_request(path, method="POST").respond_with_handler(fake.send)
    return fake


def fcm_settings(settings, provider, firebase: FakeFirebase, **overrides):
    fields = {
        "notify_fcm_credentials_file": firebase.account.file,
        "notify_fcm_base_url": provider.url_for("/").rstrip("/"),
        "notify_fcm_token_url": firebase.token_url,
    }
    return settings(**{**fields, **overrides})


async def test_messages_go_out_with_one_token_and_unregistered_devices_are_invalid(provider, settings, firebase):
    tokens = ["device-a", "expired-token", "device-b"]
    event = NotificationRequested(
        provider="fcm",
        targets=[{"token": t} for t in tokens],
        title="Build finished",
        body="All green",
        data={"n": "1"},
    )

    async with notify_handler(fcm_settings(settings, provider, firebase)) as handler:
        result = await handler(event, job_of(event))

    assert (result["delivered"], result["invalid"]) == (2, 1)
    assert result["targets"][1]["status_code"] == 404 and "UNREGISTERED" in result["targets"][1]["error"]
    assert firebase.tokens_issued == 1  # fetched once, shared by every send
    message = next(m for m in firebase.messages if m["token"] == "device-a")
    assert message["notification"] == {"title": "Build finished", "body": "All green"}
    assert message["data"] == {"n": "1"}
    assert message["android"]["collapse_key"] == event.job_id.hex
    assert message["apns"]["headers"]["apns-collapse-id"] == event.job_id.hex


async def test_a_key_the_token_endpoint_refuses_dead_letters_the_job(provider, settings, firebase, tmp_path):
    impostor = ServiceAccount.create(tmp_path, firebase.token_url)  # signs with a key Firebase does not know
    event = NotificationRequested(provider="fcm", targets=[{"token": "device-a"}], title="Hi", body="there")

    async with notify_handler(
        fcm_settings(settings, provider, firebase, notify_fcm_credentials_file=impostor.file)
    ) as handler:
        with pytest.raises(PermanentError, match="token endpoint answered 400"):
            await handler(event, job_of(event))
    assert firebase.messages == []


async def test_a_token_answer_without_a_token_is_retried_not_blamed_on_the_targets(provider, settings, firebase):
    provider.expect_oneshot_request("/token", method="POST").respond_with_data("<html>bad gateway</html>", status=200)
    event = NotificationRequested(
        provider="fcm", targets=[{"token": "device-a"}, {"token": "device-b"}], title="Hi", body="there"
    )

    async with notify_handler(fcm_settings(settings, provider, firebase)) as handler:
        with pytest.raises(TransientError, match="0 invalid, [12] failing.*without a usable token"):
            await handler(event, job_of(event))
        result = await handler(event.next_attempt(), job_of(event))

    assert result["delivered"] == 2


async def test_fcm_without_credentials_names_the_missing_setting(settings):
    event = NotificationRequested(provider="fcm", targets=[{"token": "device-a"}], title="Hi", body="there")

    async with notify_handler(settings()) as handler:
        with pytest.raises(PermanentError, match="NOTIFY_FCM_CREDENTIALS_FILE"):
            await handler(event, job_of(event))
