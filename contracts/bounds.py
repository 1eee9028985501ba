"""The largest numbers, texts and nestings a message may carry, defined once.

Whatever crosses the wire is checked against these before any work is done,
so a value the job store could never record is refused as an invalid
message instead of failing after the work (the mail sent, the job invisible).
"""

from __future__ import annotations

# A signed 64-bit column (SQLite INTEGER, PostgreSQL BIGINT): the outer bound
# of any integer on the wire. Counters that land in 32-bit columns have much
# smaller bounds of their own below.
MAX_INT64 = 2**63 - 1

# Tries of one job. RETRY_MAX_ATTEMPTS may not exceed it, so a retry the
# runtime schedules is always a valid message.
MAX_ATTEMPT = 1000

# Replays of one job from its dead letter, done by hand: far more than anyone does.
MAX_REPLAYS = 10_000

# Seconds one retry may wait; RabbitMQ's per-queue TTL allows ~49 days, a week is plenty.
MAX_RETRY_SECONDS = 7 * 24 * 3600.0

# Error texts: the job shows them, a dead letter's headers carry them.
MAX_ERROR_TEXT = 2000
MAX_ERROR_TYPE = 200

# One line per failed attempt in a dead letter's history, the last few kept.
MAX_HISTORY = 20
MAX_HISTORY_LINE = 500

# A service or gateway name, as in queue names.
MAX_SERVICE_NAME = 64
SERVICE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"

# The largest message body a consumer reads, by default (the runtime's
# MAX_MESSAGE_BYTES): larger ones are dead-lettered unread.
MAX_MESSAGE_BYTES = 1_048_576

# An email's text and its html, each. Both at this length in ASCII, with every
# other field at its limit, still fit in one message; other characters take 2
# to 4 bytes in UTF-8, so for them the byte cap above is the binding limit.
MAX_EMAIL_BODY_CHARS = 450_000

# How deep JSON may nest. No contract needs more than a handful of levels;
# parsers recurse per level, and a 100,000-deep body crashes them.
MAX_JSON_DEPTH = 64
