"""Webhook signatures: HMAC-SHA256 over a timestamp and the exact body.

The sender puts the Unix time in `Offload-Timestamp` and
`v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>` in `Offload-Signature`.
A receiver recomputes the HMAC over the raw body it got, compares in constant
time, and refuses a timestamp outside its window, so a captured request
cannot be replayed later. Every attempt is signed afresh.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "Offload-Timestamp"
SIGNATURE_HEADER = "Offload-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
REPLAY_WINDOW = 300  # seconds either side of the receiver's clock


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def signed_headers(secret: bytes, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: bytes,
    body: bytes,
    timestamp: str | None,
    signature_header: str | None,
    *,
    window: float = REPLAY_WINDOW,
    now: float | None = None,
) -> bool:
    """The receiver's check (docs/tasks/notifications.md gives the same recipe without this package)."""
    if not timestamp or not signature_header or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > window:
        return False
    expected = signature(secret, int(timestamp), body)
    # A header may carry several signatures (during a secret rotation): any may match.
    return any(hmac.compare_digest(expected, given.strip()) for given in signature_header.split(","))
