"""What a file reference may look like: a path under the storage root, or a storage URL.

Checked by the contract, so that a traversal attempt is refused at the gateway
with a precise message; the service checks again against its actual root
(symlinks, file types), since only it can.
"""

from __future__ import annotations

from urllib.parse import unquote

MAX_REFERENCE_LENGTH = 1024


def path_problem(ref: str) -> str | None:
    """Why `ref` can never name a file under a storage root, or None if it might."""
    if not ref.strip():
        return "the path is empty"
    if len(ref) > MAX_REFERENCE_LENGTH:
        return f"the path is longer than {MAX_REFERENCE_LENGTH} characters"
    if any(ord(char) < 32 or char == "\x7f" for char in ref):
        return f"{ref!r} contains a control character"
    if "\\" in ref:
        return f"{ref!r} contains a backslash; separate folders with '/'"
    is_url = "://" in ref
    path = unquote(ref.split("://", 1)[1]) if is_url else ref
    if not is_url and path.startswith("/"):
        return f"{ref!r} is an absolute path; give a path under the storage root"
    if ".." in path.split("/"):
        return f"{ref!r} climbs out with '..'; give a path under the storage root"
    return None
