"""Where a process finds its storage: the settings every process that touches files shares."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.safety import secret_problem
from storage.base import Storage


class StorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    file_storage_root: str = Field(
        "var/files",
        min_length=1,
        description="Where files live: a local directory, or s3://bucket/prefix for S3-compatible storage.",
    )
    s3_endpoint_url: str | None = Field(
        None, description="An S3-compatible server (MinIO, Ceph...); unset means AWS itself."
    )
    s3_region: str | None = Field(None, description="The S3 region; unset takes the AWS default.")
    storage_timeout: float = Field(30.0, gt=0, description="Seconds to wait on one storage request.")
    aws_secret_access_key: SecretStr | None = Field(
        None,
        description="Read by the S3 client itself from the environment; declared here only so that "
        "ENVIRONMENT=production can refuse a default one (minioadmin, a dev- key).",
    )

    def storage_problems(self) -> list[str]:
        """What ENVIRONMENT=production refuses in the storage settings (named, never quoted)."""
        secret = self.aws_secret_access_key
        problem = secret_problem("AWS_SECRET_ACCESS_KEY", secret.get_secret_value()) if secret else None
        return [problem] if problem else []

    def storage(self) -> Storage:
        return open_storage(
            self.file_storage_root,
            s3_endpoint_url=self.s3_endpoint_url,
            s3_region=self.s3_region,
            timeout=self.storage_timeout,
        )


def open_storage(
    root: str, *, s3_endpoint_url: str | None = None, s3_region: str | None = None, timeout: float = 30.0
) -> Storage:
    """The backend a root names: `s3://...` for S3, anything else a local directory."""
    if root.startswith("s3://"):
        from storage.s3 import S3Storage  # s3fs is only imported where S3 is used

        return S3Storage(root, endpoint_url=s3_endpoint_url, region=s3_region, timeout=timeout)
    if "://" in root and not root.startswith("file://"):
        raise ValueError(f"FILE_STORAGE_ROOT must be a directory or an s3:// URL, got {root!r}")
    from storage.local import LocalStorage

    return LocalStorage(root.removeprefix("file://"))
