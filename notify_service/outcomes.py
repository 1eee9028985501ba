"""What happened to one target, and how a provider's HTTP answer is read.

Three outcomes: `delivered`; `invalid` (the provider refused the target or our
credentials for good: 3xx we do not follow, 400, 401/403, 404/410 and other
4xx); `failing` (worth another try: timeouts, connection errors, 408, 425,
429 and 5xx, with the provider's `Retry-After` when it gave one).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from notify_service.client import Reply, Unreachable

Status = Literal["delivered", "invalid", "failing"]

# Kept short: errors end up in the job's result, one per target.
MAX_ERROR_TEXT = 300
_RETRYABLE = frozenset({408, 425, 429})
# A URL's authority up to its last "@" (with or without a scheme, as a redirect's
# Location may be): whatever comes before that "@" is a user and password.
_USERINFO = re.compile(r"(?i)((?:[a-z][a-z0-9+.-]*:)?//)[^/?#\s]*@")


def without_userinfo(text: str) -> str:
    """`text` with the user and password of every URL in it masked: job results are shown to API clients."""
    return _USERINFO.sub(r"\1***@", text)


@dataclass(frozen=True)
class Outcome:
    status: Status
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None

    def __post_init__(self) -> None:
        # Error texts quote URLs (a target's, a redirect's, a library's message):
        # masked here, so no path into a result, a job error or a log can skip it.
        if self.error is not None:
            object.__setattr__(self, "error", without_userinfo(self.error))

    @property
    def finished(self) -> bool:
        """Nothing more to try: recorded, and never sent again for this job."""
        return self.status != "failing"

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"status": self.status}
        if self.status_code is not None:
            shown["status_code"] = self.status_code
        if self.error is not None:
            shown["error"] = self.error
        return shown


class TargetFailed(Exception):
    """Raised by a provider that knows the outcome before it gets a reply (a refused token fetch)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


def classify(response: Reply, who: str = "provider") -> Outcome:
    code = response.status
    if 200 <= code < 300:
        return Outcome("delivered", code)
    detail = f"{who} answered {code} {response.reason}".rstrip()
    text = " ".join(response.text().split())[:MAX_ERROR_TEXT]
    if text:
        detail = f"{detail}: {text}"[:MAX_ERROR_TEXT]
    if code in _RETRYABLE or code >= 500:
        return Outcome("failing", code, detail, retry_after(response.headers.get("retry-after")))
    if 300 <= code < 400:
        where = response.headers.get("location", "?")
        return Outcome("invalid", code, f"{who} redirected to {where}; redirects are not followed"[:MAX_ERROR_TEXT])
    return Outcome("invalid", code, detail)


def unreachable(error: Unreachable, who: str = "provider") -> Outcome:
    return Outcome("failing", None, f"{who} {error}"[:MAX_ERROR_TEXT])


def unsendable(error: Exception, who: str = "provider") -> Outcome:
    """A provider failed on this target before any reply: it would fail the same way on every retry."""
    return Outcome("invalid", None, f"{who} could not send to this target ({type(error).__name__})")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait, from a `Retry-After` of delay-seconds or an HTTP-date; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is GMT by definition
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
