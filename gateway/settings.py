"""The gateway's settings: the shared broker and storage settings, plus HTTP and the job store."""

from pydantic import Field

from runtime.settings import ServiceSettings
from storage import StorageSettings


class GatewaySettings(ServiceSettings, StorageSettings):
    host: str = Field("0.0.0.0", description="Interface the HTTP server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port of the HTTP API.")
    keep_alive_seconds: int = Field(
        75,
        ge=1,
        description="Idle HTTP connections are closed after this long; keep it above the idle timeout of "
        "clients and proxies in front, so that they close first and never send on a closing connection.",
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
