"""Dead letters end to end: a refused email is listed, fixed, replayed once, over HTTP and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from aiosmtpd.smtp import SMTP, Envelope, Session

from contracts.topology import Topology
from devtools.processes import ROOT
from support.jobs import wait_for_job
from support.smtp import PickyHandler

HELLO = {"to": ["nobody@example.com"], "subject": "Hello", "text": "Hi"}


class FixableHandler(PickyHandler):
    """Refuses nobody@ with a 550 until `fixed` is set: the mailbox was created meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.fixed = threading.Event()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.fixed.is_set():
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 Ok"
        return await super().handle_RCPT(server, session, envelope, address, options)


def dlq(amqp_url: str, topology: Topology, *args: str) -> subprocess.CompletedProcess[str]:
    """`offload dlq ...` (the console script runs offload_cli), as an operator would run it."""
    env = {**os.environ, "AMQP_URL": amqp_url, "OFFLOAD_NAMESPACE": topology.namespace}
    return subprocess.run(
        [sys.executable, "-m", "offload_cli", "dlq", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_refused_email_is_listed_then_replayed_exactly_once(gateway, email_service, smtp_server, amqp_url, topology):
    mailbox = FixableHandler()
    _, smtp_port = smtp_server(mailbox)
    email_service(smtp_port)
    client = gateway()
    job_id = client.post("/v1/emails", json=HELLO).json()["job_id"]
    wait_for_job(client, job_id, "dead_lettered")

    listing = client.get("/v1/dead-letters", params={"service": "email"})

    assert listing.status_code == 200, listing.text
    [letter] = listing.json()["dead_letters"]
    assert letter["job_id"] == job_id and letter["service"] == "email"
    assert letter["reason"] == "permanent_error" and letter["attempts"] == 1
    assert "550 5.1.1 no such user" in letter["error_message"]
    assert listing.json()["count"] == 1
    assert listing.json()["groups"] == [
        {
            "fingerprint": letter["fingerprint"],
            "service": "email",
            "count": 1,
            "reason": "permanent_error",
            "error_type": "PermanentError",
            "example_message": letter["error_message"],
        }
    ]
    assert client.get("/v1/dead-letters").json()["dead_letters"] == [letter]  # every service

    as_json = dlq(amqp_url, topology, "list", "--service", "email", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["dead_letters"] == [letter]
    as_table = dlq(amqp_url, topology, "list", "--service", "email")
    assert as_table.returncode == 0, as_table.stderr
    [row] = [line for line in as_table.stdout.splitlines() if letter["message_id"] in line]
    assert letter["fingerprint"] in row and "permanent_error" in row and "PermanentError" in row

    mailbox.fixed.set()
    replayed = client.post("/v1/dead-letters/email/replay", json={"message_ids": [letter["message_id"]]})

    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == {
        "replayed": [letter["message_id"]],
        "skipped": 0,
        "not_replayed": [],
        "failed": None,
        "unexamined": 0,
    }
    job = wait_for_job(client, job_id, "succeeded")
    assert job["error"] is None
    assert [mail.rcpt_tos for mail in mailbox.received] == [["nobody@example.com"]]

    again = client.post("/v1/dead-letters/email/replay", json={"message_ids": [letter["message_id"]]})

    assert again.json() == {"replayed": [], "skipped": 0, "not_replayed": [], "failed": None, "unexamined": 0}
    assert client.get("/v1/dead-letters", params={"service": "email"}).json()["count"] == 0
    by_cli = dlq(amqp_url, topology, "replay", "email", "--all")
    assert by_cli.returncode == 0 and "0 replayed" in by_cli.stdout
    assert len(mailbox.received) == 1


def test_unknown_services_and_ambiguous_replays_are_refused(gateway):
    client = gateway()

    unknown = client.get("/v1/dead-letters", params={"service": "fax"})
    assert unknown.status_code == 404
    assert "known services: email, file, notify, analytics, gateway" in unknown.json()["detail"]
    assert client.post("/v1/dead-letters/fax/replay", json={}).status_code == 404
    both = client.post("/v1/dead-letters/email/replay", json={"message_ids": ["a"], "fingerprint": "b"})
    assert both.status_code == 422
    assert client.post("/v1/dead-letters/email/replay", json={"limit": 0}).status_code == 422


def test_dead_letters_answer_503_without_the_broker(gateway):
    client = gateway(wait_for="degraded", AMQP_URL="amqp://guest:guest@127.0.0.1:1/")

    assert client.get("/v1/dead-letters").status_code == 503
    assert client.post("/v1/dead-letters/email/replay", json={}).status_code == 503


def test_the_cli_refuses_to_replay_everything_unasked_and_reports_an_unreachable_broker(amqp_url, topology):
    unasked = dlq(amqp_url, topology, "replay", "email")
    assert unasked.returncode == 2
    # Rich draws the message in a box, wrapped to the terminal's width.
    words = " ".join(unasked.stderr.replace("│", " ").split())
    assert "one of the arguments --fingerprint --message-id --all is required" in words

    unreachable = dlq("amqp://guest:guest@127.0.0.1:1/", topology, "list")
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("error: cannot reach the broker")
    assert len(unreachable.stderr.strip().splitlines()) == 1 and "Traceback" not in unreachable.stderr
