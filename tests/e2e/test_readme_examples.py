"""The README's examples work as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from devtools.processes import ROOT
from support.jobs import wait_for_job

README = (ROOT / "README.md").read_text()


def code_after(marker: str) -> str:
    match = re.search(rf"<!-- readme-example: {marker} -->\s*```python\n(.*?)```", README, re.S)
    assert match, f"no example marked {marker!r} in the README"
    return match.group(1)


def test_direct_publish_example_queues_a_job_that_gets_done(gateway, email_service, smtp_server, amqp_url, topology):
    mailbox, smtp_port = smtp_server()
    email_service(smtp_port)
    client = gateway()

    run = subprocess.run(
        [sys.executable, "-c", code_after("direct-publish")],
        env={"AMQP_URL": amqp_url, "OFFLOAD_NAMESPACE": topology.namespace, "PATH": ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert run.returncode == 0, run.stderr
    job = wait_for_job(client, run.stdout.strip(), "succeeded")
    assert job["type"] == "email"
    assert [mail.message["Subject"] for mail in mailbox.received] == ["Hello"]


def test_curl_example_sends_its_email(gateway, email_service, smtp_server):
    command = re.search(r"curl -s -X POST localhost:8000/v1/emails .*?-d '(.*?)'", README, re.S)
    assert command, "the README lost its curl example"
    mailbox, smtp_port = smtp_server()
    email_service(smtp_port)
    client = gateway()

    response = client.post("/v1/emails", json=json.loads(command.group(1)))

    assert response.status_code == 202
    wait_for_job(client, response.json()["job_id"], "succeeded")
    assert [mail.message["Subject"] for mail in mailbox.received] == ["Hello"]
