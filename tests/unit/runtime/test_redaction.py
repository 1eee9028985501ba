"""Credentials in URLs never reach a job's error, a dead letter or a log line."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.consumer import _error_info, _with_history
from runtime.redaction import redact_credentials

# On a shared machine generation can be slow: judge the property, not the speed.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Userinfo can hold anything but whitespace (a URL has none), including @ / : and another ://.
secret_text = st.text(st.characters(blacklist_categories=("Z", "C")), min_size=1, max_size=40)
schemes = st.sampled_from(["amqp", "amqps", "postgresql+asyncpg", "https", "redis", "s3", "smtp"])
hosts = st.from_regex(r"\A[a-z0-9.-]{1,20}(:[0-9]{1,5})?(/[a-z0-9/_.-]{0,20})?\Z")
# Text around the URL, kept apart from it by whitespace.
around = st.text(st.characters(blacklist_characters="@/:"), max_size=30)


@relaxed
@given(schemes, secret_text, secret_text, hosts, around, around)
def test_user_and_password_are_hidden_whole(scheme, user, password, host, before, after):
    text = f"{before} {scheme}://{user}:{password}@{host} {after}"
    assert redact_credentials(text) == f"{before} {scheme}://***@{host} {after}"


@relaxed
@given(schemes, secret_text, hosts)
def test_a_user_without_a_password_is_hidden_too(scheme, user, host):
    assert redact_credentials(f"connect to {scheme}://{user}@{host} failed") == (
        f"connect to {scheme}://***@{host} failed"
    )


def test_text_without_credentials_is_untouched():
    for text in [
        "SMTP refused every recipient: ada@example.com: 550 5.1.1 no such user",
        "GET https://api.example.com/v1/things?id=3 answered 503",
        "no url here",
        "",
    ]:
        assert redact_credentials(text) == text


def test_every_url_in_a_text_is_redacted():
    text = "tried amqp://a:pw1@h1/ then 'postgresql://b:p@w2@h2:5432/db', mail bob@example.org"
    assert redact_credentials(text) == "tried amqp://***@h1/ then 'postgresql://***@h2:5432/db', mail bob@example.org"


@relaxed
@given(secret_text.filter(lambda s: "://" not in s), secret_text)
def test_the_runtime_redacts_job_errors_and_dead_letter_history(user, password):
    error = ConnectionError(f"cannot reach amqp://{user}:{password}@broker:5672/ (refused)")
    info = _error_info(error)

    class Message:
        headers = {"x-offload-history": 5}  # a bad header must not stop the dead letter either

    history = _with_history(Message(), 1, error)["x-offload-history"]
    assert info.message == "cannot reach amqp://***@broker:5672/ (refused)"
    assert history == ["attempt 1: ConnectionError: cannot reach amqp://***@broker:5672/ (refused)"]


def test_a_long_error_is_redacted_before_it_is_cut():
    error = RuntimeError("x" * 1990 + " amqp://user:hunter2hunter2@host/")
    assert "hunter2" not in _error_info(error).message and "user" not in _error_info(error).message


def test_an_exception_that_cannot_say_what_it_is_is_still_reported():
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert _error_info(Broken()).message == "Broken"
