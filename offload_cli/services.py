"""`offload service NAME`: run one of the task services (email, file, notify, analytics).

A service's wiring stays in its own `<name>_service/__main__.py` (`main()`);
`python -m <name>_service` runs the same command through `standalone`, so both
answer `--help` and refuse unknown arguments instead of starting a service.
`--workers N` runs the service as N worker processes under one supervising
parent (see runtime.supervisor).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import typer

from offload_cli.command import fail, group, requires


@dataclass(frozen=True)
class ServiceEntry:
    extra: str
    """The install extra that brings the service's dependencies."""
    summary: str


SERVICES: dict[str, ServiceEntry] = {
    "email": ServiceEntry("email", "Send the emails that jobs ask for, over SMTP."),
    "file": ServiceEntry("files", "Process the files that jobs point at (checksums, CSV statistics, conversions)."),
    "notify": ServiceEntry("notify", "Push the notifications that jobs ask for (webhook, Web Push, FCM, log)."),
    "analytics": ServiceEntry("analytics", "Run the declared pandas pipelines that jobs ask for."),
}

HELP_TAIL = "Settings come from the environment (AMQP_URL, HEALTH_PORT, ...); runs until SIGTERM or SIGINT."


def _bounded_workers(workers: int | None) -> int | None:
    if workers is None:
        return None
    # The WORKERS setting's bound, imported here: the command loads the runtime only to run it.
    from runtime.settings import MAX_WORKERS

    if workers > MAX_WORKERS:
        raise typer.BadParameter(f"at most {MAX_WORKERS}")
    return workers


Workers = Annotated[
    int | None,
    typer.Option(
        min=1,
        callback=_bounded_workers,
        help="Worker processes, under one parent that restarts any that dies. Default: WORKERS, else 1.",
    ),
]

app = group("Run a task service; scale it with --workers, or start more copies (they share its queue).")


def run_wired(main: Callable[[], None], workers: int | None = None) -> None:
    """Run a service's `main()`; a HEALTH_PORT in use, or workers that will not start, end the command with one line."""
    from runtime.ports import PortUnavailable
    from runtime.supervisor import WorkersFailing

    if workers is not None:
        # The option overrides the WORKERS setting by becoming it: main()
        # reads its settings from the environment, as it reads every other.
        os.environ["WORKERS"] = str(workers)
    try:
        main()
    except (PortUnavailable, WorkersFailing) as error:
        fail(str(error))


def _command(name: str) -> Callable[..., None]:
    def run_service(workers: Workers = None) -> None:
        with requires(SERVICES[name].extra):
            wiring = importlib.import_module(f"{name}_service.__main__")
        run_wired(wiring.main, workers)

    run_service.__doc__ = f"{SERVICES[name].summary}\n\n{HELP_TAIL}"
    return run_service


for _name in SERVICES:
    app.command(_name)(_command(_name))


def standalone(name: str, main: Callable[[], None]) -> typer.Typer:
    """`python -m <name>_service`: the one command, running the `main` it was handed (no second import)."""
    alone = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @alone.command(help=f"{SERVICES[name].summary}\n\n{HELP_TAIL}")
    def service(workers: Workers = None) -> None:
        run_wired(main, workers)

    return alone
