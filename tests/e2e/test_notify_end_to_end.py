"""Push notifications end to end: REST in, a fan-out to real webhook receivers, each target's outcome on the job."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from support.jobs import wait_for_job

SECRET = "whsec-e2e"


@pytest.fixture
def receiver() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


def start_notify(start, receiver: HTTPServer) -> None:
    start(NOTIFY_WEBHOOK_SECRET=SECRET, NOTIFY_ALLOWED_HOSTS=f"127.0.0.1:{receiver.port}")


def test_a_fan_out_reports_each_target_and_retries_only_the_busy_one(gateway, notify_service, receiver):  # noqa: F811
    receiver.expect_request("/ok", method="POST").respond_with_data(status=204)
    receiver.expect_request("/gone", method="POST").respond_with_data("no such hook", status=410)
    receiver.expect_oneshot_request("/busy", method="POST").respond_with_data(status=503)
    receiver.expect_request("/busy", method="POST").respond_with_data(status=200)
    start_notify(notify_service, receiver)
    client = gateway()
    paths = ["/ok", "/gone", "/busy", "/ok"]

    response = client.post(
        "/v1/notifications",
        json={
            "provider": "webhook",
            "targets": [{"url": receiver.url_for(path)} for path in paths],
            "title": "Build finished",
            "body": "All green",
            "data": {"build": "42"},
        },
    )

    assert response.status_code == 202, response.text
    job = wait_for_job(client, response.json()["job_id"], "succeeded")
    assert job["attempts"] == 2
    result = job["result"]
    assert (result["total"], result["delivered"], result["invalid"]) == (4, 3, 1)
    assert [(t["index"], t["status"], t.get("status_code")) for t in result["targets"]] == [
        (0, "delivered", 204),
        (1, "invalid", 410),
        (2, "delivered", 200),
        (3, "delivered", 204),
    ]
    assert "no such hook" in result["targets"][1]["error"]
    assert job["progress"] == {"done": 4, "total": 4, "unit": "targets"}
    # The retry went to the busy target alone.
    assert sorted(request.path for request, _ in receiver.log) == ["/busy", "/busy", "/gone", "/ok", "/ok"]


def test_a_job_whose_every_target_is_invalid_is_dead_lettered(gateway, notify_service, receiver):  # noqa: F811
    receiver.expect_request("/gone", method="POST").respond_with_data(status=410)
    start_notify(notify_service, receiver)
    client = gateway()
    targets = [{"url": receiver.url_for("/gone")}, {"url": "http://169.254.169.254/latest/meta-data/"}]

    response = client.post(
        "/v1/notifications", json={"provider": "webhook", "targets": targets, "title": "Hi", "body": ""}
    )

    job = wait_for_job(client, response.json()["job_id"], "dead_lettered")
    assert job["attempts"] == 1
    assert job["error"]["reason"] == "permanent_error"
    assert "every target refused" in job["error"]["message"]
    assert "410" in job["error"]["message"] and "169.254.169.254" in job["error"]["message"]
    assert len(receiver.log) == 1


def test_a_request_naming_no_provider_gets_the_services_default(gateway, notify_service, receiver):  # noqa: F811
    receiver.expect_request("/hook", method="POST").respond_with_data(status=204)
    notify_service(
        NOTIFY_DEFAULT_PROVIDER="webhook",
        NOTIFY_WEBHOOK_SECRET=SECRET,
        NOTIFY_ALLOWED_HOSTS=f"127.0.0.1:{receiver.port}",
    )
    client = gateway()

    response = client.post(
        "/v1/notifications", json={"targets": [{"url": receiver.url_for("/hook")}], "title": "Hi", "body": ""}
    )

    job = wait_for_job(client, response.json()["job_id"], "succeeded")
    assert job["result"]["provider"] == "webhook" and job["result"]["delivered"] == 1
    assert len(receiver.log) == 1
