"""The analytics service's caps and where its results go."""

from __future__ import annotations

from pydantic import Field

from analytics_service.limits import Limits
from runtime.settings import ServiceSettings
from storage import StorageSettings


class AnalyticsSettings(ServiceSettings, StorageSettings):
    analytics_max_dataset_bytes: int = Field(
        4 * 1024**3, ge=1, description="Datasets larger than this in storage are refused as too_large."
    )
    analytics_max_rows: int = Field(50_000_000, ge=1, description="Input rows beyond this are refused as too_large.")
    analytics_max_columns: int = Field(
        1_000, ge=1, description="A pipeline reading more columns than this is refused as too_large."
    )
    analytics_max_memory_bytes: int = Field(
        2 * 1024**3,
        ge=1024,
        description="Data one job may hold at once (the columns it reads, or its partial aggregates), "
        "in Arrow bytes; past it the job is refused as too_large.",
    )
    analytics_chunk_rows: int = Field(
        1_000_000, ge=1, description="Rows per batch when a dataset is read (and reduced) in batches."
    )
    analytics_concurrency: int = Field(
        1, ge=1, description="Analyses run at once per process; each may hold up to ANALYTICS_MAX_MEMORY_BYTES."
    )
    analytics_inline_result_rows: int = Field(
        1_000, ge=0, description="Results with more rows go to storage as Parquet and CSV files."
    )
    analytics_inline_result_bytes: int = Field(
        262_144, ge=0, description="Results larger than this as JSON go to storage as Parquet and CSV files."
    )
    analytics_results_prefix: str = Field(
        "results", min_length=1, description="Result files are written under <prefix>/<job_id>/ in storage."
    )

    def production_problems(self) -> list[str]:
        return [*super().production_problems(), *self.storage_problems()]

    @property
    def limits(self) -> Limits:
        return Limits(
            max_dataset_bytes=self.analytics_max_dataset_bytes,
            max_rows=self.analytics_max_rows,
            max_columns=self.analytics_max_columns,
            max_memory_bytes=self.analytics_max_memory_bytes,
            chunk_rows=self.analytics_chunk_rows,
        )
