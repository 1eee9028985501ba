import pytest
from pydantic import ValidationError

from email_service.settings import EmailSettings

VARIABLES = [
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_STARTTLS",
    "SMTP_TLS",
    "SMTP_TIMEOUT",
    "SMTP_VALIDATE_CERTS",
    "EMAIL_FROM",
    "EMAIL_MESSAGE_ID_DOMAIN",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def load() -> EmailSettings:
    return EmailSettings(_env_file=None)


def test_defaults_suit_the_local_mail_sink():
    settings = load()

    assert (settings.smtp_host, settings.smtp_port) == ("localhost", 1025)
    assert settings.smtp_username is None and settings.smtp_password is None
    assert not settings.smtp_starttls and not settings.smtp_tls
    assert settings.smtp_timeout == 30
    assert settings.smtp_validate_certs
    assert settings.email_from == "Offload <noreply@localhost>"
    assert settings.sender == "noreply@localhost"
    assert settings.email_message_id_domain == "offload.local"


def test_reads_every_variable_from_the_environment(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("SMTP_PORT", "587")
    monkeypatch.setenv("SMTP_USERNAME", "offload")
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("SMTP_STARTTLS", "true")
    monkeypatch.setenv("SMTP_TIMEOUT", "7.5")
    monkeypatch.setenv("SMTP_VALIDATE_CERTS", "false")
    monkeypatch.setenv("EMAIL_FROM", "Reports <reports@example.com>")
    monkeypatch.setenv("EMAIL_MESSAGE_ID_DOMAIN", "mail.example.com")

    settings = load()

    assert (settings.smtp_host, settings.smtp_port) == ("smtp.example.com", 587)
    assert settings.smtp_username == "offload"
    assert settings.smtp_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.smtp_starttls and not settings.smtp_tls
    assert settings.smtp_timeout == 7.5
    assert not settings.smtp_validate_certs
    assert settings.sender == "reports@example.com"
    assert settings.email_message_id_domain == "mail.example.com"


def test_implicit_tls_on_its_own_is_fine(monkeypatch):
    monkeypatch.setenv("SMTP_TLS", "1")
    monkeypatch.setenv("SMTP_PORT", "465")

    assert load().smtp_tls


def test_refuses_starttls_and_implicit_tls_together(monkeypatch):
    monkeypatch.setenv("SMTP_STARTTLS", "true")
    monkeypatch.setenv("SMTP_TLS", "true")

    with pytest.raises(ValidationError, match="SMTP_STARTTLS and SMTP_TLS are exclusive"):
        load()


def test_refuses_a_username_without_a_password(monkeypatch):
    monkeypatch.setenv("SMTP_USERNAME", "offload")

    with pytest.raises(ValidationError, match="SMTP_PASSWORD is not"):
        load()


@pytest.mark.parametrize(
    "email_from",
    ["nobody", "a@example.com, b@example.com", "Offload <noreply@example.com"],
)
def test_refuses_a_from_that_is_not_one_mailbox(monkeypatch, email_from):
    monkeypatch.setenv("EMAIL_FROM", email_from)

    with pytest.raises(ValidationError, match="EMAIL_FROM must be one mailbox"):
        load()


@pytest.mark.parametrize(
    ("email_from", "says"),
    [
        ("=?utf-8?q?Ops=0D=0ABcc:_victim@evil.test?= <noreply@example.org>", "EMAIL_FROM: "),
        ("=?utf-8?q?Ops=E2=80=A8Bcc:_victim@evil.test?= <noreply@example.org>", "U\\+2028 LINE SEPARATOR"),
        ("=?utf-8?q?Ops=C2=85?= <noreply@example.org>", "U\\+0085, a control character"),
        ("Offload <=?utf-8?q?x?=@example.org>", "EMAIL_FROM"),
        ("Offload <ädä@example.org>", "EMAIL_FROM must be one mailbox"),
        ("Offload <noreply@bücher.example>", "in its ASCII \\(xn--\\) form"),
    ],
)
def test_refuses_a_from_whose_encoded_name_or_address_is_not_header_text(monkeypatch, email_from, says):
    monkeypatch.setenv("EMAIL_FROM", email_from)

    with pytest.raises(ValidationError, match=says):
        load()


def test_an_encoded_sender_name_is_taken_as_configured(monkeypatch):
    monkeypatch.setenv("EMAIL_FROM", "=?utf-8?q?Caf=C3=A9_Offload?= <noreply@example.org>")

    assert load().sender == "noreply@example.org"


def test_refuses_a_message_id_domain_that_is_not_a_host_name(monkeypatch):
    monkeypatch.setenv("EMAIL_MESSAGE_ID_DOMAIN", "evil.example>\r\nBcc: x@example.com")

    with pytest.raises(ValidationError, match="email_message_id_domain"):
        load()
