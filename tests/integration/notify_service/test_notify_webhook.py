"""The webhook provider against a real receiver on loopback: signed, sorted, never redirected or repeated."""

from __future__ import annotations

import json

import pytest
from notify_support import WEBHOOK_SECRET, job_of, webhooks
from werkzeug import Request, Response

from contracts.events import NotificationRequested
from notify_service.service import notify_handler
from notify_service.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from runtime.errors import PermanentError, TransientError


def verifying_receiver(received: list[dict]):
    """A receiver that checks the signature as docs/tasks/notifications.md tells receivers to."""

    def respond(request: Request) -> Response:
        body = request.get_data()
        if not verify(
            WEBHOOK_SECRET.encode(), body, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER)
        ):
            return Response("bad signature", status=401)
        received.append({"body": json.loads(body), "key": request.headers[IDEMPOTENCY_HEADER]})
        return Response(status=204)

    return respond


async def test_webhooks_arrive_signed_with_an_idempotency_key(provider, handler):
    received: list[dict] = []
    provider.expect_request("/hook", method="POST").respond_with_handler(verifying_receiver(received))
    event = webhooks(provider, "/hook", "/hook", data={"build": "42"})

    result = await handler(event, job_of(event))

    assert result["delivered"] == 2 and result["invalid"] == 0
    assert [t["status"] for t in result["targets"]] == ["delivered", "delivered"]
    assert sorted(r["key"] for r in received) == [f"{event.job_id}:0", f"{event.job_id}:1"]
    assert received[0]["body"]["title"] == "Build finished"
    assert received[0]["body"]["data"] == {"build": "42"}


async def test_a_wrong_secret_is_refused_by_the_receiver_and_reported_invalid(provider, settings):
    provider.expect_request("/hook").respond_with_handler(verifying_receiver([]))
    event = webhooks(provider, "/hook")

    async with notify_handler(settings(notify_webhook_secret="not-the-shared-one")) as handler:
        with pytest.raises(PermanentError, match="401"):
            await handler(event, job_of(event))


async def test_some_targets_gone_is_still_a_success_listing_each_outcome(provider, handler):
    provider.expect_request("/ok").respond_with_data(status=200)
    provider.expect_request("/gone").respond_with_data("unsubscribed", status=410)
    event = webhooks(provider, "/ok", "/gone")

    result = await handler(event, job_of(event))

    assert result["delivered"] == 1 and result["invalid"] == 1
    gone = result["targets"][1]
    assert gone["status"] == "invalid" and gone["status_code"] == 410
    assert "unsubscribed" in gone["error"] and gone["target"].endswith("/gone")


async def test_every_target_gone_is_permanent_and_never_retried(provider, handler):
    provider.expect_request("/gone").respond_with_data(status=410)
    event = webhooks(provider, "/gone", "/gone")

    with pytest.raises(PermanentError, match="every target refused.*410"):
        await handler(event, job_of(event))
    # A second attempt sends nothing: both targets are finished.
    with pytest.raises(PermanentError):
        await handler(event.next_attempt(), job_of(event))
    assert len(provider.log) == 2


async def test_429_is_retried_after_the_providers_delay(provider, handler):
    provider.expect_request("/busy").respond_with_data(status=429, headers={"Retry-After": "7"})
    event = webhooks(provider, "/busy")

    with pytest.raises(TransientError, match="1 failing") as caught:
        await handler(event, job_of(event))
    assert caught.value.retry_after == 7


async def test_a_redirect_is_not_followed(provider, handler):
    provider.expect_request("/moved").respond_with_data(
        status=302, headers={"Location": provider.url_for("/elsewhere")}
    )
    provider.expect_request("/ok").respond_with_data(status=200)
    event = webhooks(provider, "/moved", "/ok")

    result = await handler(event, job_of(event))

    assert result["targets"][0]["status"] == "invalid" and result["targets"][0]["status_code"] == 302
    assert "redirects are not followed" in result["targets"][0]["error"]
    assert [request.path for request, _ in provider.log].count("/elsewhere") == 0


async def test_a_url_outside_the_allowlist_is_invalid_without_a_request(provider, handler):
    provider.expect_request("/ok").respond_with_data(status=200)
    event = webhooks(provider, "/ok")
    outside = event.model_copy(update={"targets": [*event.targets, type(event.targets[0])(url="http://127.0.0.1:1/x")]})

    result = await handler(outside, job_of(outside))

    assert result["targets"][1]["status"] == "invalid"
    assert "not in NOTIFY_ALLOWED_HOSTS" in result["targets"][1]["error"]


async def test_a_redelivered_job_does_not_notify_delivered_targets_again(provider, settings):
    provider.expect_request("/ok").respond_with_data(status=200)
    provider.expect_oneshot_request("/flaky").respond_with_data(status=503)
    event = webhooks(provider, "/ok", "/flaky")

    async with notify_handler(settings()) as first_process:
        with pytest.raises(TransientError, match="1 delivered, 0 invalid, 1 failing"):
            await first_process(event, job_of(event))
    # Another process gets the same message again (say the first died before its ack).
    provider.expect_request("/flaky").respond_with_data(status=200)
    async with notify_handler(settings()) as second_process:
        result = await second_process(event, job_of(event))

    assert result["delivered"] == 2
    assert sorted(request.path for request, _ in provider.log) == ["/flaky", "/flaky", "/ok"]


async def test_a_request_naming_no_provider_gets_the_configured_default(provider, settings):
    provider.expect_request("/hook", method="POST").respond_with_handler(verifying_receiver(received := []))
    event = webhooks(provider, "/hook").model_copy(update={"provider": None})

    async with notify_handler(settings(notify_default_provider="webhook")) as handler:
        result = await handler(event, job_of(event))

    assert result["provider"] == "webhook" and result["delivered"] == 1
    assert [r["key"] for r in received] == [f"{event.job_id}:0"]


async def test_targets_that_do_not_suit_the_default_provider_fail_the_job_for_good(provider, settings):
    event = webhooks(provider, "/hook").model_copy(update={"provider": None})

    async with notify_handler(settings(notify_default_provider="fcm")) as handler:
        with pytest.raises(PermanentError, match=r"NOTIFY_DEFAULT_PROVIDER=fcm.*targets\[0\]: provider 'fcm' needs"):
            await handler(event, job_of(event))
    assert provider.log == []


async def test_unusable_urls_fail_alone_and_no_credentials_reach_the_result(provider, settings):
    provider.expect_request("/ok").respond_with_data(status=200)
    provider.expect_request("/gone").respond_with_data(status=410)
    port = provider.port
    urls = [
        f"https://{'a' * 64}.example.com/hook",  # a label IDNA cannot encode
        "https://hooks..example.com/hook",  # an empty label
        f"http://[::ffff:127.0.0.1]:{port}/ok",  # the allowlisted address, spelled so it is not the entry
        f"http://user:hunter2@127.0.0.1:{port}/gone",
        *(f"http://127.0.0.1:{port}/ok" for _ in range(20)),
    ]
    event = NotificationRequested(provider="webhook", targets=[{"url": url} for url in urls], title="Hi", body="x")

    async with notify_handler(settings(notify_allowed_hosts=f"127.0.0.1:{port},*.example.com")) as handler:
        result = await handler(event, job_of(event))

    assert result["delivered"] == 20 and result["invalid"] == 4
    assert [t["status"] for t in result["targets"][:4]] == ["invalid"] * 4
    assert "not a usable URL" in result["targets"][0]["error"] and "not a usable URL" in result["targets"][1]["error"]
    assert result["targets"][3]["target"] == f"http://***@127.0.0.1:{port}/gone"
    assert "hunter2" not in json.dumps(result)
    assert [request.path for request, _ in provider.log].count("/ok") == 20


async def test_a_job_error_quotes_no_credentials(provider, handler):
    provider.expect_request("/gone").respond_with_data(status=410)
    url = f"http://bot:hunter2@127.0.0.1:{provider.port}/gone"
    event = NotificationRequested(provider="webhook", targets=[{"url": url}], title="Hi", body="x")

    with pytest.raises(PermanentError, match="every target refused") as caught:
        await handler(event, job_of(event))

    assert "hunter2" not in str(caught.value) and "***@127.0.0.1" in str(caught.value)
