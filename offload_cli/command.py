"""What every command group shares: how a group is made and how a failure is told."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer

# Offload's own packages: a missing one is a bug to show, not an extra to install.
FIRST_PARTY = {
    "contracts",
    "runtime",
    "storage",
    "gateway",
    "email_service",
    "file_service",
    "notify_service",
    "analytics_service",
    "devtools",
    "offload_cli",
}


def group(help: str, **options: Any) -> typer.Typer:  # noqa: A002 - typer's own word
    """A command group; tracebacks stay plain (typer's pretty ones print local variables, secrets included)."""
    return typer.Typer(help=help, no_args_is_help=True, pretty_exceptions_enable=False, **options)


def fail(message: str) -> NoReturn:
    """An expected failure: one line on stderr, exit code 1."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(1)


@contextmanager
def requires(extra: str) -> Iterator[None]:
    """Turn a missing third-party module, imported inside, into the extra that brings it."""
    try:
        yield
    except ModuleNotFoundError as missing:
        if (missing.name or "").split(".")[0] in FIRST_PARTY or missing.name is None:
            raise
        fail(f"this command needs the {extra} extra (no module {missing.name!r}): pip install 'offload[{extra}]'")
