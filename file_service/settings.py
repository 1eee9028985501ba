"""What the file service reads, and how much of anything it is willing to handle."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import ServiceSettings
from storage import StorageSettings


class FileSettings(ServiceSettings, StorageSettings):
    file_max_source_bytes: int = Field(100 * 1024**3, ge=1, description="Larger source files are refused as too_large.")
    # 1 GiB: a megabyte of gzip can expand a thousandfold, so the cap, not the input, bounds what one job writes.
    gunzip_max_bytes: int = Field(
        1024**3, ge=1, description="gunzip stops, and the job fails as too_large, past this many bytes out."
    )
    csv_max_columns: int = Field(2000, ge=1, description="CSVs with more columns are refused as too_large.")

    def production_problems(self) -> list[str]:
        return [*super().production_problems(), *self.storage_problems()]
