"""`offload jobs list|show|watch`: jobs as a gateway reports them, over its HTTP API.

Talks to a running gateway (`--url`), with `--api-key` (or OFFLOAD_API_KEY) sent
as `Authorization: Bearer`; nothing here reads the job store itself.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from contracts.events import JobStatus, TaskType
from offload_cli.command import fail, group

FINISHED = {JobStatus.succeeded, JobStatus.dead_lettered}
REQUEST_TIMEOUT = 10.0
# Piped or captured, a table is not cut to 80 columns: job ids stay whole.
PIPED_WIDTH = 1000

app = group("List, show and watch jobs through a gateway's HTTP API.")

Url = Annotated[str, typer.Option(envvar="OFFLOAD_URL", help="The gateway's base URL.")]
ApiKey = Annotated[
    str | None, typer.Option(envvar="OFFLOAD_API_KEY", help="Sent as `Authorization: Bearer`, when API_KEYS is set.")
]
DEFAULT_URL = "http://127.0.0.1:8000"


@app.command("list")
def list_jobs(
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs in this status.")] = None,
    task_type: Annotated[TaskType | None, typer.Option("--type", help="Only jobs of this type.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many of the newest first.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table.")] = False,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """Jobs, newest first (GET /v1/jobs)."""
    query = {"status": status, "type": task_type, "limit": limit, "offset": offset}
    page = _get(url, "/v1/jobs", api_key, {name: value for name, value in query.items() if value is not None})
    if as_json:
        print(json.dumps(page, indent=2))
        return
    Console(width=None if sys.stdout.isatty() else PIPED_WIDTH).print(_table(page))


@app.command()
def show(
    job_id: Annotated[str, typer.Argument(help="The job's id, as a POST answered it.")],
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """One job as JSON: status, attempts, timestamps, progress, error and result (GET /v1/jobs/{id})."""
    print(json.dumps(_get(url, f"/v1/jobs/{_quoted(job_id)}", api_key), indent=2))


@app.command()
def watch(
    job_id: Annotated[str, typer.Argument(help="The job's id, as a POST answered it.")],
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between two looks at the job.")] = 0.5,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """Follow one job with a progress bar until it ends; exit code 0 if it succeeded, 1 if it was dead-lettered."""
    path = f"/v1/jobs/{_quoted(job_id)}"
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    # The bar goes to stderr, so that stdout holds only the outcome.
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("waiting", total=None)
        while True:
            job = _get(url, path, api_key)
            bar.update(task, description=f"{job['type']} {job['status']}", **_bar_position(job))
            if job["status"] in FINISHED:
                break
            time.sleep(interval)
    print(f"job {job['job_id']} {job['status']} after {job['attempts']} attempt(s)")
    if job["status"] == JobStatus.dead_lettered:
        print(json.dumps(job["error"], indent=2))
        raise typer.Exit(1)
    if job["result"] is not None:
        print(json.dumps(job["result"], indent=2))


def _bar_position(job: dict[str, Any]) -> dict[str, int | None]:
    """Where the bar stands: the job's own progress, or full once it ended, or a pulse (no total)."""
    progress = job.get("progress")
    if progress:
        return {"completed": progress["done"], "total": progress["total"]}
    if job["status"] in FINISHED:
        return {"completed": 1, "total": 1}
    return {"completed": 0, "total": None}


def _table(page: dict[str, Any]) -> Table:
    table = Table("JOB ID", "TYPE", "STATUS", "ATTEMPTS", "CREATED", "PROGRESS", box=None)
    for job in page["jobs"]:
        created = datetime.fromisoformat(job["created_at"]).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(job["job_id"], job["type"], job["status"], str(job["attempts"]), created, _progress(job))
    shown = len(page["jobs"])
    table.caption = f"{shown} of {page['total']} job(s), from {page['offset'] + 1 if shown else page['offset']}"
    return table


def _progress(job: dict[str, Any]) -> str:
    progress = job.get("progress")
    if not progress:
        return "-"
    done = progress["done"] if progress["total"] is None else f"{progress['done']}/{progress['total']}"
    return f"{done} {progress['unit']}"


def _get(base_url: str, path: str, api_key: str | None, query: dict[str, Any] | None = None) -> Any:
    """GET a JSON document from the gateway; an error status or an unreachable gateway ends the command."""
    target = base_url.rstrip("/") + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
    request = urllib.request.Request(target, headers={"Accept": "application/json"})
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        fail(_http_problem(error))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        fail(f"cannot reach the gateway at {base_url}: {reason}")


def _http_problem(error: urllib.error.HTTPError) -> str:
    if error.code == 401:
        return "the gateway wants an API key (401): pass --api-key or set OFFLOAD_API_KEY"
    try:
        detail = json.load(error).get("detail")
    except (ValueError, AttributeError):
        detail = None
    return f"the gateway answered {error.code}: {detail or error.reason}"


def _quoted(job_id: str) -> str:
    return urllib.parse.quote(job_id, safe="")
