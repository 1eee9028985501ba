"""The shell examples of the README and docs/ run as written, in order, against the whole system.

Each page's examples (the ```sh blocks marked `<!-- readme-example: NAME -->`)
run in one bash session, as a reader pastes them into one terminal: from a
folder laid out like the repository after `make run` (`examples/`, storage in
`var/files`, mail in `var/mail`, the job store in `var/jobs.db`), with the
gateway, every service and the mail sink running. Only the gateway's address
differs: `localhost:8000` becomes the test gateway's. After each example the
jobs it created or changed must have ended as the page says.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devtools.mail_sink import start_sink
from devtools.processes import ROOT, free_port

PAGES = [
    "README.md",
    "docs/tasks/files.md",
    "docs/tasks/notifications.md",
    "docs/tasks/analytics.md",
    "docs/operations.md",
]
MARKED = re.compile(r"<!-- readme-example: ([\w-]+) -->\s*```sh\n(.*?)```", re.S)
DONE = "::example done::"
EXAMPLE_TIMEOUT = 90.0

Check = Callable[[list[dict[str, Any]], str, Path], None]


def shell_examples(page: str) -> list[tuple[str, str]]:
    return MARKED.findall((ROOT / page).read_text())


def only(jobs: list[dict[str, Any]], task: str) -> dict[str, Any]:
    """The one job an example touched, of this type, which must have succeeded."""
    assert [(job["type"], job["status"]) for job in jobs] == [(task, "succeeded")], jobs
    return jobs[0]


def tour_email(jobs, output, work):
    assert only(jobs, "email")["result"]["recipients"] == 1
    [mail] = (work / "var" / "mail").glob("*.eml")
    assert "Subject: Hello" in mail.read_text() and mail.name in output


def tour_file(jobs, output, work):
    job = only(jobs, "file")
    result = job["result"]
    assert result["csv_stats"]["rows"] == 16
    assert result["csv_to_parquet"]["key"] == f"outputs/{job['job_id']}/sales.parquet"
    assert re.match(r"uploads/[^/]+/sales\.csv$", result["source"]["key"])
    assert "sales.parquet" in output.splitlines()  # the `ls` of var/files/outputs/<job id>/


def notification(jobs, output, work):
    result = only(jobs, "notification")["result"]
    assert (result["provider"], result["total"], result["delivered"]) == ("log", 2, 2)


def tour_analytics(jobs, output, work):
    records = only(jobs, "analysis")["result"]["records"]
    assert [(row["city"], row["amount_count"]) for row in records] == [("Oslo", 3), ("Rome", 3), ("Pune", 3)]


def file_upload(jobs, output, work):
    result = only(jobs, "file")["result"]
    assert result["csv_stats"]["rows"] == 4 and result["source"]["key"].endswith("/orders.csv")


def file_reference(jobs, output, work):
    result = only(jobs, "file")["result"]
    assert result["source"]["key"] == "inbox/orders.csv" and result["csv_stats"]["rows"] == 4


def analytics_records(jobs, output, work):
    assert only(jobs, "analysis")["result"]["records"] == [
        {"city": "Oslo", "amount_sum": 5.0, "amount_mean": 2.5},
        {"city": "Rome", "amount_sum": 2.0, "amount_mean": 2.0},
    ]


def analytics_dataset(jobs, output, work):
    records = only(jobs, "analysis")["result"]["records"]
    assert [row["city"] for row in records] == ["Oslo", "Rome", "Pune", "Lima", "Kyiv"]


def dead_letter_replay(jobs, output, work):
    only(jobs, "file")  # dead-lettered first, then replayed to success
    assert '"status": "dead_lettered"' in output
    assert "no file 'inbox/late-orders.csv' in storage" in output


def dead_letter_cli(jobs, output, work):
    assert jobs == [] and "no dead letters" in output


EXPECTED: dict[str, Check] = {
    "tour-email": tour_email,
    "tour-file": tour_file,
    "tour-notification": notification,
    "tour-analytics": tour_analytics,
    "file-upload": file_upload,
    "file-reference": file_reference,
    "notification-log": notification,
    "analytics-records": analytics_records,
    "analytics-dataset": analytics_dataset,
    "dead-letter-replay": dead_letter_replay,
    "dead-letter-cli": dead_letter_cli,
}


def test_every_shell_example_is_checked():
    marked = [name for page in PAGES for name, _ in shell_examples(page)]
    assert sorted(marked) == sorted(EXPECTED)


class Terminal:
    """One bash session, fed one example at a time; it stops at the first command that fails."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self._cwd = cwd
        self._count = 0
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._bash = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self._send("set -e -o pipefail")

    def _read(self) -> None:
        assert self._bash.stdout is not None
        for line in self._bash.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _send(self, line: str) -> None:
        assert self._bash.stdin is not None
        self._bash.stdin.write(line + "\n")
        self._bash.stdin.flush()

    def run(self, name: str, code: str) -> str:
        """Run one example; returns what it printed."""
        self._count += 1
        script = self._cwd.parent / f"example-{self._count}-{name}.sh"
        script.write_text(code)
        # From a file, so that no command in it can read the next example from bash's stdin.
        self._send(f"source {script} </dev/null; echo '{DONE}'")
        output: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=EXAMPLE_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"example {name!r} still running after {EXAMPLE_TIMEOUT}s:\n" + "\n".join(output))
            if line is None:
                pytest.fail(f"example {name!r} failed (exit {self._bash.wait()}):\n" + "\n".join(output))
            if line == DONE:
                return "\n".join(output)
            output.append(line)

    def close(self) -> None:
        if self._bash.poll() is None:
            self._bash.stdin.close()
            self._bash.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_shell_examples_run_as_written(
    gateway, email_service, file_service, notify_service, analytics_service, amqp_url, topology, tmp_path
):
    work = tmp_path / "repo"
    files = work / "var" / "files"
    files.mkdir(parents=True)
    (work / "examples").symlink_to(ROOT / "examples")
    # The docs run `.venv/bin/python` and `.venv/bin/offload`, from the repository.
    venv_bin = work / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    for name, command in (("python", ""), ("offload", " -m offload_cli")):
        (venv_bin / name).write_text(f'#!/bin/sh\nexec "{sys.executable}"{command} "$@"\n')
        (venv_bin / name).chmod(0o755)

    sink_port = free_port()
    sink = start_sink(work / "var" / "mail", "127.0.0.1", sink_port)
    try:
        email_service(sink_port)
        file_service(FILE_STORAGE_ROOT=str(files))
        notify_service()
        analytics_service(FILE_STORAGE_ROOT=str(files))
        database_url = f"sqlite+aiosqlite:///{work}/var/jobs.db"
        client = gateway(FILE_STORAGE_ROOT=str(files), DATABASE_URL=database_url)
        address = str(client.base_url).removeprefix("http://")
        # What a terminal next to `make run` has by default: the same broker, namespace and job store.
        env = {
            **os.environ,
            "AMQP_URL": amqp_url,
            "OFFLOAD_NAMESPACE": topology.namespace,
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(ROOT),
        }

        def jobs() -> dict[str, dict[str, Any]]:
            answer = client.get("/v1/jobs", params={"limit": 500})
            assert answer.status_code == 200, answer.text
            return {job["job_id"]: job for job in answer.json()["jobs"]}

        for page in PAGES:
            terminal = Terminal(work, env)
            try:
                for name, code in shell_examples(page):
                    before = jobs()
                    output = terminal.run(name, code.replace("localhost:8000", address))
                    touched = [job for job_id, job in jobs().items() if before.get(job_id) != job]
                    try:
                        EXPECTED[name](touched, output, work)
                    except AssertionError as error:
                        raise AssertionError(f"{page}, example {name!r}:\n{output}") from error
            finally:
                terminal.close()
    finally:
        sink.stop()
