"""Email end to end: REST or direct publish in, real SMTP out, the job reports it."""

from __future__ import annotations

import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from contracts.events import EmailRequested
from runtime.broker import Broker
from support.jobs import wait_for_job
from support.smtp import PickyHandler, StallingHandler

HELLO = {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"}


def test_rest_call_sends_a_real_email(gateway, email_service, smtp_server):
    mailbox, smtp_port = smtp_server()
    email_service(smtp_port)
    client = gateway()

    response = client.post("/v1/emails", json={**HELLO, "cc": ["bob@example.com"], "bcc": ["eve@example.com"]})

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status_url"] == f"/v1/jobs/{accepted['job_id']}"
    assert response.headers["location"] == accepted["status_url"]
    job = wait_for_job(client, accepted["job_id"], "succeeded")
    assert job["type"] == "email" and job["attempts"] == 1 and job["error"] is None
    assert job["result"]["message_id"] == f"<{accepted['job_id']}@offload.local>"
    [mail] = mailbox.received
    assert sorted(mail.rcpt_tos) == ["ada@example.com", "bob@example.com", "eve@example.com"]
    assert mail.message["Subject"] == "Hello"
    assert mail.message["Message-ID"] == job["result"]["message_id"]
    assert "Bcc" not in mail.message
    assert mail.message.get_content().strip() == "Hi Ada"


def test_smtp_5xx_dead_letters_the_job_with_the_server_reply(gateway, email_service, smtp_server):
    _, smtp_port = smtp_server(PickyHandler())
    email_service(smtp_port)
    client = gateway()

    response = client.post("/v1/emails", json={**HELLO, "to": ["nobody@example.com"]})

    job = wait_for_job(client, response.json()["job_id"], "dead_lettered")
    assert job["attempts"] == 1
    assert job["error"]["reason"] == "permanent_error"
    assert "550 5.1.1 no such user" in job["error"]["message"]
    assert job["finished_at"] is not None


async def test_event_published_straight_to_the_broker_is_processed(
    gateway, email_service, smtp_server, amqp_url, topology
):
    mailbox, smtp_port = smtp_server()
    email_service(smtp_port)
    client = gateway()
    event = EmailRequested(to=["grace@example.com"], subject="Direct", text="No gateway involved")

    broker = Broker(amqp_url, topology, name="direct-publisher")
    await broker.connect()
    await broker.declare(topology.service("email").all())
    await broker.publish(event)
    await broker.close()

    # The gateway never saw the request, yet learns of the job from its status events.
    job = wait_for_job(client, str(event.job_id), "succeeded")
    assert job["type"] == "email"
    assert [mail.message["Subject"] for mail in mailbox.received] == ["Direct"]


def test_sigterm_mid_send_loses_nothing(gateway, email_service, smtp_server):
    stalling = StallingHandler()
    _, smtp_port = smtp_server(stalling)
    first = email_service(smtp_port, SHUTDOWN_GRACE="0.5")
    client = gateway()

    job_id = client.post("/v1/emails", json=HELLO).json()["job_id"]
    assert stalling.stalled.wait(15), "the send never reached the SMTP server"
    first.signal(signal.SIGTERM)
    assert first.wait(15) == 0, first.output()
    assert wait_for_job(client, job_id, "running")["status"] == "running"

    # The unfinished job went back to the queue; the next instance sends it.
    stalling.release.set()
    email_service(smtp_port)
    job = wait_for_job(client, job_id, "succeeded")
    assert job["result"]["message_id"] == f"<{job_id}@offload.local>"
    assert len(stalling.received) >= 1


def test_gateway_accepts_work_while_the_broker_is_unreachable(gateway):
    client = gateway(wait_for="degraded", AMQP_URL="amqp://guest:guest@127.0.0.1:1/")

    started = time.monotonic()
    response = client.post("/v1/emails", json=HELLO)

    # Recorded with its event in the outbox: the relay publishes it once the broker is back.
    assert response.status_code == 202
    assert time.monotonic() - started < 2
    assert client.get(response.headers["location"]).json()["status"] == "queued"
    ready = client.get("/readyz").json()
    assert ready["status"] == "degraded"
    assert ready["checks"] == {"store": True, "broker": False, "status_consumer": False}
    assert ready["outbox"]["pending"] == 1
    assert client.get("/healthz").status_code == 200


def test_jobs_list_filters_and_pages(gateway, email_service, smtp_server):
    _, smtp_port = smtp_server(PickyHandler())
    email_service(smtp_port)
    client = gateway()
    ok = [client.post("/v1/emails", json=HELLO).json()["job_id"] for _ in range(3)]
    bad = client.post("/v1/emails", json={**HELLO, "to": ["nobody@example.com"]}).json()["job_id"]
    for job_id in ok:
        wait_for_job(client, job_id, "succeeded")
    wait_for_job(client, bad, "dead_lettered")

    everything = client.get("/v1/jobs").json()
    assert everything["total"] == 4
    dead = client.get("/v1/jobs", params={"status": "dead_lettered"}).json()
    assert [job["job_id"] for job in dead["jobs"]] == [bad]
    page = client.get("/v1/jobs", params={"type": "email", "limit": 2, "offset": 2}).json()
    assert page["total"] == 4 and len(page["jobs"]) == 2
    assert client.get("/v1/jobs", params={"status": "exploded"}).status_code == 422
    assert client.get(f"/v1/jobs/{uuid.uuid4()}").status_code == 404
    assert client.get("/v1/jobs/not-a-uuid").status_code == 422


def test_idempotency_key_makes_a_retried_post_one_job_and_one_email(gateway, email_service, smtp_server):
    mailbox, smtp_port = smtp_server()
    email_service(smtp_port)
    client = gateway()
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}

    first = client.post("/v1/emails", json=HELLO, headers=key)
    again = client.post("/v1/emails", json=HELLO, headers=key)

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    wait_for_job(client, first.json()["job_id"], "succeeded")
    assert client.get("/v1/jobs").json()["total"] == 1
    assert len(mailbox.received) == 1


def test_concurrent_posts_with_one_key_make_one_job(gateway):
    client = gateway()
    key = {"Idempotency-Key": "concurrent-1"}

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: client.post("/v1/emails", json=HELLO, headers=key), range(16)))

    assert {response.status_code for response in responses} == {202}
    assert len({response.json()["job_id"] for response in responses}) == 1
    assert client.get("/v1/jobs").json()["total"] == 1


def test_idempotency_key_reused_for_another_body_is_a_422(gateway):
    client = gateway()
    key = {"Idempotency-Key": "reused"}
    client.post("/v1/emails", json=HELLO, headers=key)

    response = client.post("/v1/emails", json={**HELLO, "subject": "Other"}, headers=key)

    assert response.status_code == 422
    assert response.json()["detail"] == "Idempotency-Key 'reused' was already used with a different request"
    assert client.get("/v1/jobs").json()["total"] == 1


def test_idempotency_keys_expire(gateway):
    client = gateway(IDEMPOTENCY_KEY_TTL="0.5")
    key = {"Idempotency-Key": "short-lived"}
    first = client.post("/v1/emails", json=HELLO, headers=key).json()["job_id"]

    deadline = time.monotonic() + 10
    while (again := client.post("/v1/emails", json=HELLO, headers=key).json()["job_id"]) == first:
        assert time.monotonic() < deadline, "the key never expired"
        time.sleep(0.1)
    assert client.get("/v1/jobs").json()["total"] == 2
    assert again != first


def test_the_gateway_keeps_its_jobs_in_postgresql_as_well(gateway, email_service, smtp_server, postgres_database_url):
    mailbox, smtp_port = smtp_server()
    email_service(smtp_port)
    client = gateway(DATABASE_URL=postgres_database_url)

    job_id = client.post("/v1/emails", json=HELLO, headers={"Idempotency-Key": "pg-1"}).json()["job_id"]

    assert wait_for_job(client, job_id, "succeeded")["attempts"] == 1
    assert client.post("/v1/emails", json=HELLO, headers={"Idempotency-Key": "pg-1"}).json()["job_id"] == job_id
    assert len(mailbox.received) == 1
