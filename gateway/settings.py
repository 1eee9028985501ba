"""The gateway's settings: the shared broker settings plus HTTP and the job store."""

from pydantic import Field

from runtime.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    host: str = Field("0.0.0.0", description="Interface the HTTP server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port of the HTTP API.")
    database_url: str = Field(
        "sqlite+aiosqlite:///var/jobs.db",
        description="Job store as an SQLAlchemy URL; postgresql+asyncpg://... when scaled out.",
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger request bodies get a 413.")
    status_prefetch: int = Field(256, ge=1, description="Status events folded into the store at once.")
    idempotency_key_ttl: float = Field(86_400, gt=0, description="Seconds an Idempotency-Key is remembered.")
    relay_batch: int = Field(500, ge=1, description="Outbox events published concurrently per batch.")
