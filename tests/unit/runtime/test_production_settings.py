"""ENVIRONMENT=production refuses development defaults in every process's settings, without quoting them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from analytics_service.settings import AnalyticsSettings
from email_service.settings import EmailSettings
from file_service.settings import FileSettings
from gateway.settings import GatewaySettings
from notify_service.settings import NotifySettings
from runtime.settings import BrokerSettings, ServiceSettings

GOOD_AMQP = "amqp://email-service:Zq8v3LrT0pX1@broker.internal:5672/"
GOOD_KEY = "k3y-Us7Wm1Qe9Rt4Yp2Lx8"
# The task services', with an inbox each; the gateway keeps none.
SERVICE_SETTINGS = [ServiceSettings, EmailSettings, FileSettings, NotifySettings, AnalyticsSettings]
ALL_SETTINGS = [BrokerSettings, GatewaySettings, *SERVICE_SETTINGS]


def production(settings: type[BrokerSettings], **fields):
    if settings is GatewaySettings:
        fields.setdefault("api_keys", GOOD_KEY)
    return settings(_env_file=None, environment="production", amqp_url=fields.pop("amqp_url", GOOD_AMQP), **fields)


def refused(settings: type[BrokerSettings], secret: str, **fields) -> str:
    """The error production gives, checked not to quote `secret`."""
    with pytest.raises(ValidationError) as caught:
        production(settings, **fields)
    text = str(caught.value)
    assert secret not in text
    return text


@pytest.fixture(autouse=True)
def no_environment(monkeypatch):
    for name in ("ENVIRONMENT", "AMQP_URL", "API_KEYS", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "INBOX_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("settings", ALL_SETTINGS)
def test_development_is_the_default_and_takes_the_development_defaults(settings):
    assert settings(_env_file=None).environment == "development"


@pytest.mark.parametrize("settings", ALL_SETTINGS)
def test_production_with_real_secrets_starts(settings):
    assert production(settings).environment == "production"


@pytest.mark.parametrize("settings", ALL_SETTINGS)
@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("amqp://guest:guest@localhost:5672/", "guest:guest"),
        ("amqp://guest:S3cretEnough@broker/", "S3cretEnough"),
        ("amqp://email:dev-email-pass@broker/", "dev-email-pass"),
        ("amqp://email:DEV-Email-Pass@broker/", "DEV-Email-Pass"),
        ("amqp://offload:offload@rabbitmq:5672/", "offload:offload"),
        ("amqp://broker.internal/", "broker.internal/"),
    ],
    ids=["guest", "guest-user", "dev-password", "dev-upper", "compose-default", "no-credentials"],
)
def test_production_refuses_development_broker_credentials(settings, url, secret):
    assert "AMQP_URL" in refused(settings, secret, amqp_url=url)


@pytest.mark.parametrize("settings", SERVICE_SETTINGS)
def test_production_refuses_a_default_inbox_password(settings):
    text = refused(settings, "dev-inbox", inbox_url="postgresql+asyncpg://svc:dev-inbox@db/offload")
    assert "INBOX_URL" in text


def test_the_gateway_takes_none_of_a_task_services_settings(monkeypatch):
    # A shared .env or compose anchor may hand them to the gateway: they are not its own, so ignored.
    monkeypatch.setenv("INBOX_URL", "postgresql+asyncpg://svc:dev-inbox@db/offload")
    monkeypatch.setenv("PREFETCH", "not a number")
    gateway = production(GatewaySettings)
    only_services = ServiceSettings.model_fields.keys() - BrokerSettings.model_fields.keys()
    assert only_services == {"prefetch", "workers", "inbox_url", "inbox_retention_days", "health_port", "health_host"}
    assert gateway.environment == "production"
    assert not only_services & GatewaySettings.model_fields.keys()


def test_the_gateway_refuses_an_open_api_in_production():
    assert "API_KEYS is empty" in refused(GatewaySettings, GOOD_AMQP, api_keys="")
    assert "API_KEYS" in refused(GatewaySettings, "dev-0123456789abcdef", api_keys=f"{GOOD_KEY},dev-0123456789abcdef")


def test_the_gateway_refuses_a_default_database_password_in_production():
    text = refused(GatewaySettings, "offload@", database_url="postgresql+asyncpg://offload:offload@postgres/offload")
    assert "DATABASE_URL" in text
    production(GatewaySettings, database_url="sqlite+aiosqlite:///var/jobs.db")


@pytest.mark.parametrize("settings", [GatewaySettings, FileSettings, AnalyticsSettings])
def test_services_with_storage_refuse_a_default_s3_key_in_production(settings):
    assert "AWS_SECRET_ACCESS_KEY" in refused(settings, "minioadmin", aws_secret_access_key="minioadmin")


def test_email_refuses_a_development_smtp_password_and_unchecked_certificates_in_production():
    text = refused(EmailSettings, "dev-smtp-pw", smtp_username="mailer", smtp_password="dev-smtp-pw")
    assert "SMTP_PASSWORD" in text
    assert "SMTP_VALIDATE_CERTS" in refused(EmailSettings, GOOD_AMQP, smtp_validate_certs=False)


def test_notify_refuses_weak_or_development_secrets_in_production():
    assert "NOTIFY_WEBHOOK_SECRET" in refused(NotifySettings, "short-secret", notify_webhook_secret="short-secret")
    dev = "dev-" + "x" * 40
    assert "NOTIFY_WEBHOOK_SECRET" in refused(NotifySettings, dev, notify_webhook_secret=dev)
    text = refused(NotifySettings, "dev-deliveries", notify_deliveries_url="postgresql://n:dev-deliveries@db/x")
    assert "NOTIFY_DELIVERIES_URL" in text
    production(NotifySettings, notify_webhook_secret="w" * 32)


def test_every_problem_is_named_at_once():
    text = refused(GatewaySettings, "guest:guest", amqp_url="amqp://guest:guest@localhost/", api_keys="")
    assert "AMQP_URL" in text and "API_KEYS" in text


@pytest.mark.parametrize("settings", ALL_SETTINGS)
def test_development_accepts_the_development_defaults(settings):
    settings(_env_file=None, amqp_url="amqp://guest:guest@localhost:5672/")


def test_the_environment_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("AMQP_URL", "amqp://guest:guest@localhost:5672/")
    with pytest.raises(ValidationError, match="ENVIRONMENT=production"):
        ServiceSettings(_env_file=None)
    monkeypatch.setenv("ENVIRONMENT", "staging")
    with pytest.raises(ValidationError, match="environment"):
        ServiceSettings(_env_file=None)


def test_retry_settings_are_bounded_like_the_messages_they_make():
    with pytest.raises(ValidationError, match="retry_max_attempts"):
        ServiceSettings(_env_file=None, retry_max_attempts=1001)
    with pytest.raises(ValidationError, match="retry_max_delay"):
        ServiceSettings(_env_file=None, retry_max_delay=float("inf"))
    steep = ServiceSettings(_env_file=None, retry_max_attempts=1000, retry_multiplier=1000)
    assert max(steep.retry_policy.delays()) == steep.retry_max_delay
