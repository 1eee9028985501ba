"""Settings every process shares, and those only a task service has.

`BrokerSettings` is what any Offload process needs to work with the broker:
where it is, how to talk to it, how consumed messages are retried, and how
the process logs. `ServiceSettings` adds what a task service alone has: its
prefetch, its inbox of finished messages and its health server. Each process
subclasses one of them with its own fields; values come from the environment
(or a `.env` file), never from code. With ENVIRONMENT=production a process
refuses to start on a development default (guest on the broker, a `dev-`
password, an open API): each settings class lists its own such problems in
`production_problems`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.bounds import MAX_ATTEMPT, MAX_MESSAGE_BYTES, MAX_RETRY_SECONDS
from contracts.topology import DELIVERY_LIMIT, RetryPolicy, Topology
from runtime.safety import url_credentials_problem

Environment = Literal["development", "production"]

# The most WORKERS a service runs: enough for any one host, and a typo cannot
# start thousands of processes.
MAX_WORKERS = 256


class BrokerSettings(BaseSettings):
    """The broker, how to reach it and retry on it, and the process's logs: what every process needs."""

    # AMQP_URL and the services' secrets: an error names the setting, and never repeats its value.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    environment: Environment = Field(
        "development",
        description="`production` refuses to start with development defaults (guest, dev- passwords, an open API).",
    )
    amqp_url: SecretStr = Field(
        SecretStr("amqp://guest:guest@localhost:5672/"),
        description="The RabbitMQ server, as an AMQP URL (credentials and vhost included).",
    )
    offload_namespace: str = Field(
        "offload",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="Prefix of every exchange and queue name; lets deployments share a broker.",
    )
    delivery_limit: int = Field(
        DELIVERY_LIMIT,
        ge=1,
        description="Redeliveries of a message whose consumer keeps dying, before it is dead-lettered.",
    )
    amqp_heartbeat: int = Field(15, ge=1, description="Seconds; a dead link is noticed within ~3x this.")
    publish_timeout: float = Field(5.0, gt=0, description="Seconds to wait for a publisher confirm.")
    # Bounded like the messages they produce: a retry is always a valid message.
    retry_max_attempts: int = Field(5, ge=1, le=MAX_ATTEMPT, description="Attempts before a job is dead-lettered.")
    retry_first_delay: float = Field(1.0, gt=0, le=MAX_RETRY_SECONDS, description="Seconds before the second attempt.")
    retry_multiplier: float = Field(2.0, ge=1, le=1000, description="Each further delay grows by this factor.")
    retry_max_delay: float = Field(
        300.0, gt=0, le=MAX_RETRY_SECONDS, description="Upper bound on any one delay, seconds."
    )
    max_message_bytes: int = Field(MAX_MESSAGE_BYTES, ge=1024, description="Larger messages are dead-lettered.")
    shutdown_grace: float = Field(
        30.0, ge=0, description="Seconds in-flight messages (jobs, status events) get to finish on SIGTERM."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    @model_validator(mode="after")
    def _safe_outside_development(self) -> BrokerSettings:
        if self.environment != "development":
            problems = self.production_problems()
            if problems:
                raise ValueError(f"ENVIRONMENT={self.environment} refuses development defaults: {'; '.join(problems)}")
        return self

    def production_problems(self) -> list[str]:
        """Settings unfit for production, named but never quoted; subclasses add their own."""
        problem = url_credentials_problem("AMQP_URL", self.amqp_url.get_secret_value(), default_user="guest")
        return [problem] if problem is not None else []

    @property
    def topology(self) -> Topology:
        return Topology(namespace=self.offload_namespace, delivery_limit=self.delivery_limit)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.retry_max_attempts,
            first_delay=self.retry_first_delay,
            multiplier=self.retry_multiplier,
            max_delay=self.retry_max_delay,
        )


class ServiceSettings(BrokerSettings):
    """A task service's settings: the broker's, plus how it consumes, where its inbox is, its health server."""

    prefetch: int = Field(16, ge=1, le=10_000, description="Messages a consumer works on at once.")
    workers: int = Field(
        1,
        ge=1,
        le=MAX_WORKERS,
        description="Worker processes of the service, under one supervising parent (see runtime.supervisor); "
        "`--workers N` overrides it.",
    )
    inbox_url: str | None = Field(
        None,
        description="Where the service records finished messages (SQLAlchemy URL); "
        "default: a SQLite file var/<namespace>-<service>-inbox.db.",
    )
    inbox_retention_days: float = Field(7, gt=0, description="How long finished message ids are remembered.")
    health_port: int | None = Field(None, ge=0, le=65535, description="Port of /healthz, /readyz, /metrics.")
    health_host: str = "0.0.0.0"

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.inbox_url and (problem := url_credentials_problem("INBOX_URL", self.inbox_url)):
            problems.append(problem)
        return problems

    def inbox_url_for(self, service: str) -> str:
        return self.inbox_url or f"sqlite+aiosqlite:///var/{self.offload_namespace}-{service}-inbox.db"
