"""Reading a provider's answer: which status codes retry, which mark a target invalid, Retry-After."""

from email.utils import formatdate

import pytest

from notify_service.client import Reply, Unreachable
from notify_service.outcomes import Outcome, classify, retry_after, unreachable, without_userinfo

NOW = 1_760_000_000.0


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (200, "delivered"),
        (201, "delivered"),
        (204, "delivered"),
        (301, "invalid"),
        (307, "invalid"),
        (400, "invalid"),
        (401, "invalid"),
        (403, "invalid"),
        (404, "invalid"),
        (410, "invalid"),
        (413, "invalid"),
        (408, "failing"),
        (429, "failing"),
        (500, "failing"),
        (502, "failing"),
        (503, "failing"),
    ],
)
def test_status_codes_are_sorted(code, status):
    assert classify(Reply.of(code)).status == status


def test_an_error_reply_keeps_the_provider_words_and_its_retry_after():
    outcome = classify(Reply.of(429, b"slow down\n", {"Retry-After": "7"}, "Too Many Requests"), "FCM")

    assert outcome.status == "failing"
    assert outcome.status_code == 429
    assert outcome.retry_after == 7
    assert outcome.error == "FCM answered 429 Too Many Requests: slow down"


def test_a_redirect_names_where_it_pointed():
    outcome = classify(Reply.of(302, headers={"Location": "http://10.0.0.1/"}))

    assert outcome.status == "invalid"
    assert "redirected to http://10.0.0.1/" in outcome.error


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW - 30, usegmt=True), 0.0),
        (None, None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header, seconds):
    assert retry_after(header, now=NOW) == seconds


def test_timeouts_and_connection_errors_are_failing():
    timed_out = Unreachable("timed out: SocketTimeoutError", timed_out=True)
    assert unreachable(timed_out).status == "failing"
    assert unreachable(timed_out, "FCM").error == "FCM timed out: SocketTimeoutError"
    assert unreachable(Unreachable("unreachable: ClientConnectorError", timed_out=False)).status == "failing"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://user:pass@hooks.example.com/a", "https://***@hooks.example.com/a"),
        ("HTTP://USER@host:8080/", "HTTP://***@host:8080/"),
        ("post to 'https://a:b@c@host/x?next=y@z' failed", "post to 'https://***@host/x?next=y@z' failed"),
        ("//user:pass@evil.example/", "//***@evil.example/"),
        ("https://hooks.example.com/a?mail=x@y", "https://hooks.example.com/a?mail=x@y"),
        ("no URL at all, mail ops@example.com", "no URL at all, mail ops@example.com"),
    ],
)
def test_userinfo_is_masked_in_any_text(text, shown):
    assert without_userinfo(text) == shown


def test_an_outcome_never_holds_credentials_whoever_wrote_its_error():
    redirected = classify(Reply.of(302, headers={"Location": "https://admin:s3cret@internal.example/"}))
    made_up = Outcome("failing", None, "could not reach https://bot:tok3n@hooks.example.com/x")

    assert "s3cret" not in redirected.error and "admin" not in redirected.error
    assert made_up.error == "could not reach https://***@hooks.example.com/x"
