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

# The rules of `path_problem` as JSON Schema, for publishers that validate
# against docs/schemas. Written for both Python's and ECMAScript's regexes:
# `[\s\S]` rather than `.` (which stops at different line breaks in each),
# and whitespace spelled out (the two disagree on what \s holds).
_WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_DOT = r"(?:\.|%2[Ee])"  # a file:// URL is decoded before use
_SLASH = r"(?:/|%2[Ff])"
PATH_SCHEMA = {
    "description": (
        "A path relative to the storage root (no leading '/', no '..' segment, not the root itself), or a "
        "file:// or s3:// URL without a '..' segment, decoded or not; no control characters or backslashes."
    ),
    "allOf": [
        {"pattern": f"[^{_WHITESPACE}]"},
        # Searched for rather than ruled out with ^...$: Python's `$` also matches before a final newline.
        {"not": {"pattern": r"[\x00-\x1f\x7f\\]"}},
        {
            "if": {"pattern": r"^[A-Za-z][A-Za-z0-9+.-]*://"},
            "then": {
                "pattern": r"^(?:[Ff][Ii][Ll][Ee]|[Ss]3)://",
                "not": {
                    "anyOf": [
                        {"pattern": "%(?:[01][0-9A-Fa-f]|7[Ff]|5[Cc])"},
                        {"pattern": rf"^[A-Za-z0-9+.-]*://(?:[\s\S]*{_SLASH})?{_DOT}{{2}}(?:{_SLASH}|$)"},
                    ]
                },
            },
            "else": {
                "not": {
                    "anyOf": [
                        {"pattern": "^/"},
                        {"pattern": r"(?:^|/)\.\.(?:/|$)"},
                        {"pattern": r"^(?:\.?/)*\.?$"},
                    ]
                }
            },
        },
    ],
}


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
