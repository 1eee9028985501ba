"""The Python example of docs/direct-publishing.md works as written.

The shell examples of the README and docs/ are run by test_shell_examples.py.
"""

from __future__ import annotations

import re
import subprocess
import sys

from devtools.processes import ROOT
from support.jobs import wait_for_job

PAGE = (ROOT / "docs" / "direct-publishing.md").read_text()


def code_after(marker: str) -> str:
    match = re.search(rf"<!-- readme-example: {marker} -->\s*```python\n(.*?)```", PAGE, re.S)
    assert match, f"no example marked {marker!r} in docs/direct-publishing.md"
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
