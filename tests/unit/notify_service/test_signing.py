"""Webhook signatures: what the sender puts on, and the receiver's check, replay window included."""

import re
import time
from pathlib import Path

from notify_service.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers, verify

SECRET = b"whsec-test"
BODY = b'{"title":"Build finished"}'
NOW = 1_760_000_000


def test_a_signed_body_verifies():
    headers = signed_headers(SECRET, BODY, now=NOW)

    assert headers[TIMESTAMP_HEADER] == str(NOW)
    assert headers[SIGNATURE_HEADER].startswith("v1=")
    assert verify(SECRET, BODY, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], now=NOW + 10)


def test_a_changed_body_secret_or_timestamp_does_not_verify():
    headers = signed_headers(SECRET, BODY, now=NOW)
    stamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]

    assert not verify(SECRET, BODY + b" ", stamp, signature, now=NOW)
    assert not verify(b"other", BODY, stamp, signature, now=NOW)
    assert not verify(SECRET, BODY, str(NOW + 1), signature, now=NOW)
    assert not verify(SECRET, BODY, None, signature, now=NOW)
    assert not verify(SECRET, BODY, "-1", signature, now=NOW)


def test_a_replay_outside_the_window_is_refused():
    headers = signed_headers(SECRET, BODY, now=NOW)
    stamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]

    assert verify(SECRET, BODY, stamp, signature, now=NOW + 300)
    assert not verify(SECRET, BODY, stamp, signature, now=NOW + 301)
    assert not verify(SECRET, BODY, stamp, signature, now=NOW - 301)
    assert verify(SECRET, BODY, stamp, signature, now=NOW + 1000, window=1000)


def test_any_of_several_signatures_may_match():
    signature = signed_headers(SECRET, BODY, now=NOW)[SIGNATURE_HEADER]

    assert verify(SECRET, BODY, str(NOW), f"v1=00ff, {signature}", now=NOW)


def test_the_readme_recipe_accepts_what_the_service_signs():
    readme = (Path(__file__).resolve().parents[3] / "docs" / "tasks" / "notifications.md").read_text()
    match = re.search(r"<!-- readme-example: webhook-verify -->\s*```python\n(.*?)```", readme, re.S)
    assert match, "docs/tasks/notifications.md lost its verification recipe"
    recipe: dict = {}
    exec(match.group(1), recipe)
    headers = signed_headers(SECRET, BODY)

    assert recipe["verify"](SECRET, BODY, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    assert not recipe["verify"](SECRET, BODY + b"x", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    stale = signed_headers(SECRET, BODY, now=time.time() - 301)
    assert not recipe["verify"](SECRET, BODY, stale[TIMESTAMP_HEADER], stale[SIGNATURE_HEADER])
