"""Web Push against a real receiver on loopback, which decrypts the payload with the subscription's keys."""

from __future__ import annotations

import base64
import json
import re

import http_ece
import pytest
from notify_support import Subscription, job_of
from py_vapid import Vapid
from werkzeug import Request, Response

from contracts.events import NotificationRequested
from notify_service.service import notify_handler
from runtime.errors import TransientError
from support.inprocess import running
from support.watch import status_of, watch_status

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


def malformed_subscriptions(port: int) -> dict[str, dict]:
    """Targets the contract accepts but no push request can be made for, each for its own reason."""
    bad_keys = Subscription.new(f"http://127.0.0.1:{port}/push/bad-keys").as_target()
    return {
        "an IPv6-literal loopback endpoint": Subscription.new(f"http://[::1]:{port}/push/v6").as_target(),
        "an IPv6-literal public endpoint": Subscription.new("https://[2606:4700::1111]/push/v6").as_target(),
        "an endpoint with a user and password": Subscription.new(
            f"http://user:hunter2@127.0.0.1:{port}/push/userinfo"
        ).as_target(),
        "an endpoint with only a user": Subscription.new(f"http://user@127.0.0.1:{port}/push/user").as_target(),
        "a host label IDNA cannot encode": Subscription.new(f"https://{'a' * 64}.example.com/push").as_target(),
        "an empty host label": Subscription.new("https://push..example.com/push").as_target(),
        "unusable keys": {**bad_keys, "keys": {"p256dh": "AAAA", "auth": bad_keys["keys"]["auth"]}},
    }


async def test_malformed_targets_fail_alone_and_every_good_target_is_delivered(
    amqp, topology, publisher, provider, settings
):
    status = await watch_status(amqp, topology)
    provider.expect_request(re.compile("/push/good-.*"), method="POST").respond_with_data(status=201)
    provider.expect_request(re.compile(".*"), method="POST").respond_with_data(status=418)  # never reached
    good = [Subscription.new(provider.url_for(f"/push/good-{i}")).as_target() for i in range(60)]
    bad = malformed_subscriptions(provider.port)
    # Malformed targets first and spread out, so they fail while good sends are in flight.
    targets = [*bad.values(), *good[:30], *bad.values(), *good[30:]]
    event = NotificationRequested(provider="webpush", targets=targets, title="Hi", body="there")
    vapid = Vapid()
    vapid.generate_keys()
    # *.example.com lets the unencodable host names past the allowlist, down to the request itself.
    service_settings = vapid_settings(settings, vapid).model_copy(
        update={"notify_allowed_hosts": f"127.0.0.1:{provider.port},*.example.com"}
    )

    async with notify_handler(service_settings) as handler, running(handler, service_settings, name="notify"):
        await publisher.publish(event)
        succeeded = await status.wait_for(status_of(event.job_id, "job.succeeded"), timeout=60)

    result = succeeded.result
    assert succeeded.attempt == 1
    assert result["delivered"] == 60 and result["invalid"] == 2 * len(bad)
    assert sorted(request.path for request, _ in provider.log) == sorted(f"/push/good-{i}" for i in range(60))
    outcomes = {entry["index"]: entry for entry in result["targets"]}
    for index, target in enumerate(targets):
        expected = "invalid" if target in bad.values() else "delivered"
        assert outcomes[index]["status"] == expected, (index, target["endpoint"], outcomes[index])
    invalid = [entry for entry in result["targets"] if entry["status"] == "invalid"]
    assert all(entry["error"] for entry in invalid)
    assert "hunter2" not in json.dumps(result) and "user:" not in json.dumps(result)
