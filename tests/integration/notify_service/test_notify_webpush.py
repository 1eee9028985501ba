"""Web Push against a real receiver on loopback, which decrypts the payload with the subscription's keys."""

from __future__ import annotations

import base64
import json

import http_ece
import pytest
from notify_support import Subscription, job_of
from py_vapid import Vapid
from werkzeug import Request, Response

from contracts.events import NotificationRequested
from notify_service.service import notify_handler
from runtime.errors import TransientError

SUBJECT = "mailto:ops@offload.example"


def vapid_settings(settings, vapid: Vapid):
    return settings(notify_vapid_private_key=vapid.private_pem().decode(), notify_vapid_subject=SUBJECT)


def claims_of(authorization: str) -> dict:
    token = authorization.split("t=", 1)[1].split(",", 1)[0]
    middle = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(middle + "=" * (-len(middle) % 4)))


async def test_the_push_service_gets_a_payload_only_the_browser_can_read(provider, settings):
    subscription = Subscription.new(provider.url_for("/push/abc"))
    vapid = Vapid()
    vapid.generate_keys()
    seen: list[dict] = []

    def push_service(request: Request) -> Response:
        plain = http_ece.decrypt(
            request.get_data(),
            private_key=subscription.private_key,
            auth_secret=subscription.auth_secret,
            version="aes128gcm",
        )
        seen.append({"payload": json.loads(plain), "headers": dict(request.headers)})
        return Response(status=201)

    provider.expect_request("/push/abc", method="POST").respond_with_handler(push_service)
    event = NotificationRequested(
        provider="webpush",
        targets=[subscription.as_target()],
        title="Build finished",
        body="All green",
        data={"url": "/builds/42"},
    )

    async with notify_handler(vapid_settings(settings, vapid)) as handler:
        result = await handler(event, job_of(event))

    assert result["delivered"] == 1 and result["targets"][0]["status_code"] == 201
    [push] = seen
    assert push["payload"] == {"title": "Build finished", "body": "All green", "data": {"url": "/builds/42"}}
    headers = push["headers"]
    assert headers["Content-Encoding"] == "aes128gcm"
    assert headers["Ttl"] == "86400"
    assert len(headers["Topic"]) == 32
    # RFC 8292: signed by the service's VAPID key, for this push service's origin.
    assert Vapid.verify(headers["Authorization"])
    assert claims_of(headers["Authorization"])["aud"] == f"http://127.0.0.1:{provider.port}"
    assert claims_of(headers["Authorization"])["sub"] == SUBJECT


async def test_an_expired_subscription_is_invalid_and_a_busy_push_service_is_retried(provider, settings):
    gone, busy = Subscription.new(provider.url_for("/push/gone")), Subscription.new(provider.url_for("/push/busy"))
    vapid = Vapid()
    vapid.generate_keys()
    provider.expect_request("/push/gone").respond_with_data(status=410)
    provider.expect_oneshot_request("/push/busy").respond_with_data(status=503)
    provider.expect_request("/push/busy").respond_with_data(status=201)
    event = NotificationRequested(
        provider="webpush", targets=[gone.as_target(), busy.as_target()], title="Hi", body="there"
    )

    async with notify_handler(vapid_settings(settings, vapid)) as handler:
        with pytest.raises(TransientError, match="1 failing"):
            await handler(event, job_of(event))
        result = await handler(event.next_attempt(), job_of(event))

    assert result["delivered"] == 1 and result["invalid"] == 1
    assert result["targets"][0]["status_code"] == 410
    assert sorted(request.path for request, _ in provider.log) == ["/push/busy", "/push/busy", "/push/gone"]
