"""The README's file examples work as written: its curl commands, run against a real gateway."""

from __future__ import annotations

import re
import subprocess

import pytest

from devtools.processes import ROOT
from support.jobs import wait_for_job

README = (ROOT / "README.md").read_text()
ORDERS = b"order_id,customer,amount\n1001,ada,19.99\n1002,grace,5.50\n1003,ada,\n"


def command_after(marker: str) -> str:
    """The shell block after a marker, without its comment lines (they show the output)."""
    match = re.search(rf"<!-- readme-example: {marker} -->\s*```sh\n(.*?)```", README, re.S)
    assert match, f"no example marked {marker!r} in the README"
    return "\n".join(line for line in match.group(1).splitlines() if not line.startswith("#"))


@pytest.mark.parametrize("marker", ["file-upload", "file-reference"])
def test_file_curl_examples_run_a_job_to_the_end(gateway, file_service, tmp_path, marker):
    file_service()
    client = gateway()
    (tmp_path / "orders.csv").write_bytes(ORDERS)  # for -F file=@orders.csv
    (tmp_path / "files" / "inbox").mkdir(parents=True, exist_ok=True)
    (tmp_path / "files" / "inbox" / "orders.csv").write_bytes(ORDERS)  # for the reference
    command = command_after(marker).replace("localhost:8000", str(client.base_url).removeprefix("http://"))

    run = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=30)

    assert run.returncode == 0, run.stderr
    job_id = re.search(r'"job_id":"([0-9a-f-]+)"', run.stdout).group(1)
    result = wait_for_job(client, job_id, "succeeded")["result"]
    assert result["csv_stats"]["rows"] == 3
    assert [output["operation"] for output in result["outputs"]] == ["csv_to_parquet"]
