"""Turning what a client sent into a key under the storage root, or refusing it."""

from __future__ import annotations

from contracts.paths import path_problem
from storage.errors import PathRefused


def clean_key(ref: str) -> str:
    """A relative, normalised key: no `..`, no absolute path, no control characters."""
    problem = path_problem(ref)
    if problem is not None:
        raise PathRefused(problem)
    parts = [part for part in ref.split("/") if part not in ("", ".")]
    if not parts:
        raise PathRefused(f"{ref!r} names the storage root itself, not a file")
    return "/".join(parts)
