"""The gateway's settings: the shared broker and storage settings, plus HTTP and the job store.

The gateway consumes status events with its own prefetch (STATUS_PREFETCH) and
keeps no inbox and no separate health server, so it takes none of a task
service's settings (`runtime.settings.ServiceSettings`).
"""

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from contracts.permissions import status_publishers
from contracts.topology import SERVICE_TASKS
from runtime.safety import secret_problem, url_credentials_problem
from runtime.settings import BrokerSettings
from storage import StorageSettings

# Short enough to type, long enough that guessing one over HTTP is hopeless.
MIN_API_KEY_LENGTH = 16


def _split(keys: str) -> list[str]:
    return [key.strip() for key in keys.split(",") if key.strip()]


class GatewaySettings(BrokerSettings, StorageSettings):
    # API_KEYS and AMQP_URL are secrets: an error names the setting, and never repeats its value.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    host: str = Field("0.0.0.0", description="Interface the HTTP server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port of the HTTP API.")
    keep_alive_seconds: int = Field(
        75,
        ge=1,
        description="Idle HTTP connections are closed after this long; keep it above the idle timeout of "
        "clients and proxies in front, so that they close first and never send on a closing connection.",
    )
    header_timeout_seconds: float = Field(
        10,
        gt=0,
        description="A request's line and headers must arrive within this long, or the connection is closed (408).",
    )
    body_timeout_seconds: float = Field(
        30,
        gt=0,
        description="A request body must arrive within this long, plus one second per BODY_MIN_RATE bytes "
        "received (time spent waiting for it only), or the client gets a 408 and the connection is closed.",
    )
    body_min_rate: int = Field(
        8192,
        ge=0,
        description="Bytes per second a body earns one more second of BODY_TIMEOUT_SECONDS with; 0: no extension.",
    )
    api_keys: SecretStr | None = Field(
        None,
        description="Comma-separated API keys (16 characters or more each); when set, every /v1 request needs "
        "`Authorization: Bearer <key>` with one of them. Unset or empty: the API is open.",
    )
    database_url: str = Field(
        "sqlite+aiosqlite:///var/jobs.db",
        description="Job store as an SQLAlchemy URL; postgresql+asyncpg://... when scaled out.",
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger request bodies get a 413.")
    max_upload_bytes: int = Field(
        10 * 1024**3, ge=1, description="Larger files sent to POST /v1/files/upload get a 413."
    )
    max_inline_records: int = Field(
        100_000, ge=1, description="More records inline in POST /v1/analytics get a 413; pass a dataset instead."
    )
    inline_records_spill_bytes: int = Field(
        262_144,
        ge=0,
        description="Inline analytics records larger than this as JSON are stored and passed by reference.",
    )
    status_prefetch: int = Field(256, ge=1, description="Status events folded into the store at once.")
    idempotency_key_ttl: float = Field(86_400, gt=0, description="Seconds an Idempotency-Key is remembered.")
    relay_batch: int = Field(500, ge=1, description="Outbox events published concurrently per batch.")

    status_publishers: str | None = Field(
        None,
        description="Broker users whose status events the gateway believes, as `user:service` pairs separated "
        "by commas (a user may report for several services: list it once per service). "
        "Unset: the role users of the namespace, `<namespace>-email:email,<namespace>-file:file,...`.",
    )

    @field_validator("status_publishers")
    @classmethod
    def _well_formed_status_publishers(cls, value: str | None) -> str | None:
        for pair in _split(value or ""):
            user, _, service = pair.partition(":")
            if not user.strip() or service.strip() not in SERVICE_TASKS:
                raise ValueError(
                    f"STATUS_PUBLISHERS: {pair!r} is not `user:service` with a service among {', '.join(SERVICE_TASKS)}"
                )
        return value if _split(value or "") else None

    def trusted_status_publishers(self) -> dict[str, frozenset[str]]:
        """Broker user -> the services whose jobs it may report on."""
        if self.status_publishers is None:
            return status_publishers(self.offload_namespace)
        trusted: dict[str, set[str]] = {}
        for pair in _split(self.status_publishers):
            user, _, service = pair.partition(":")
            trusted.setdefault(user.strip(), set()).add(service.strip())
        return {user: frozenset(services) for user, services in trusted.items()}

    @field_validator("api_keys")
    @classmethod
    def _strong_api_keys(cls, value: SecretStr | None) -> SecretStr | None:
        keys = _split(value.get_secret_value()) if value is not None else []
        if not keys:
            return None  # compose passes an unset variable on as an empty one
        short = [n for n, key in enumerate(keys, 1) if len(key) < MIN_API_KEY_LENGTH]
        if short:
            raise ValueError(
                f"API_KEYS: key {', '.join(map(str, short))} is shorter than {MIN_API_KEY_LENGTH} characters "
                "(`python -c 'import secrets; print(secrets.token_urlsafe(32))'` makes a good one)"
            )
        return value

    def production_problems(self) -> list[str]:
        problems = [*super().production_problems(), *self.storage_problems()]
        keys = self.api_key_list()
        if not keys:
            problems.append("API_KEYS is empty, which leaves the API open")
        problems += [problem for key in keys if (problem := secret_problem("API_KEYS", key))]
        if problem := url_credentials_problem("DATABASE_URL", self.database_url):
            problems.append(problem)
        return problems

    def api_key_list(self) -> list[str]:
        return _split(self.api_keys.get_secret_value()) if self.api_keys is not None else []
