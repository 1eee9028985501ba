"""What a file reference may look like: a path under the storage root, or a storage URL.

Checked by the contract, so that a traversal attempt is refused at the gateway
with a precise message; the service checks again against its actual root
(symlinks, file types), since only it can.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MAX_REFERENCE_LENGTH = 1024

# The URLs a storage root can have (storage.local: file://, storage.s3: s3://).
STORAGE_SCHEMES = ("file", "s3")
# A URL starts with its scheme; "://" anywhere else is part of a path.
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)


def path_problem(ref: str) -> str | None:
    """Why `ref` can never name a file under a storage root, or None if it might."""
    if not ref.strip():
        return "the path is empty"
    if len(ref) > MAX_REFERENCE_LENGTH:
        return f"the path is longer than {MAX_REFERENCE_LENGTH} characters"
    url = _URL.match(ref)
    if url is None:
        return _character_problem(ref, ref) or _relative_path_problem(ref)
    scheme, rest = url.group(1).lower(), unquote(url.group(2))
    if scheme not in STORAGE_SCHEMES:
        return f"{ref!r} is a {scheme}:// URL; a stored file is a path, or a file:// or s3:// URL"
    # Checked once decoded too: storage decodes a file:// URL before using it.
    problem = _character_problem(ref, ref) or _character_problem(ref, rest)
    if problem:
        return problem
    if ".." in rest.split("/"):
        return f"{ref!r} climbs out with '..'; give a path under the storage root"
    return None


def _character_problem(ref: str, text: str) -> str | None:
    if any(ord(char) < 32 or char == "\x7f" for char in text):
        return f"{ref!r} contains a control character"
    if "\\" in text:
        return f"{ref!r} contains a backslash; separate folders with '/'"
    return None


def _relative_path_problem(path: str) -> str | None:
    if path.startswith("/"):
        return f"{path!r} is an absolute path; give a path under the storage root"
    segments = path.split("/")
    if ".." in segments:
        return f"{path!r} climbs out with '..'; give a path under the storage root"
    if all(segment in ("", ".") for segment in segments):
        return f"{path!r} names the storage root itself, not a file"
    return None
