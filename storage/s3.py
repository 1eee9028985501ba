"""S3-compatible object storage (AWS, MinIO, Ceph, moto) through s3fs.

For deployments where the gateway and the services run on different hosts.
Credentials come the standard AWS way (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, a profile, or an instance role).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, BinaryIO

import s3fs
from botocore.exceptions import BotoCoreError

from storage.base import Storage, StoredFile
from storage.errors import NotFound, PathRefused

# Reads fetch and writes upload this much at a time: it bounds memory per open
# file, and is above S3's 5 MiB minimum size of a multipart upload's part.
BLOCK_SIZE = 8 * 1024 * 1024


class S3Storage(Storage):
    # botocore's connection and timeout errors are not OSErrors.
    transient_errors = (*Storage.transient_errors, BotoCoreError)

    def __init__(
        self, root_url: str, *, endpoint_url: str | None = None, region: str | None = None, timeout: float = 30.0
    ) -> None:
        bucket_and_prefix = root_url.removeprefix("s3://").strip("/")
        if not bucket_and_prefix:
            raise ValueError(f"an S3 root needs a bucket, like s3://bucket or s3://bucket/prefix; got {root_url!r}")
        self.root_url = f"s3://{bucket_and_prefix}"
        self._base = bucket_and_prefix
        self._fs = s3fs.S3FileSystem(
            endpoint_url=endpoint_url,
            client_kwargs={"region_name": region} if region else None,
            config_kwargs={
                "connect_timeout": timeout,
                "read_timeout": timeout,
                # botocore's own retries cover blips; longer outages are the runtime's to retry.
                "retries": {"max_attempts": 3, "mode": "standard"},
            },
            default_block_size=BLOCK_SIZE,
            skip_instance_cache=True,
        )

    def stat(self, ref: str) -> StoredFile:
        key = self.key(ref)
        info = self._info(key)
        return StoredFile(key, int(info["size"]))

    def open_read(self, ref: str) -> BinaryIO:
        key = self.key(ref)
        info = self._info(key)
        with self.translate_errors(key):
            return self._fs.open(self._path(key), "rb", block_size=BLOCK_SIZE, size=int(info["size"]))

    @contextlib.contextmanager
    def open_write(self, ref: str) -> Iterator[BinaryIO]:
        key = self.key(ref)
        with self.translate_errors(key):
            # Parts go up as they fill; the object appears when the upload is
            # completed on close, and an aborted upload leaves nothing behind.
            file = self._fs.open(self._path(key), "wb", block_size=BLOCK_SIZE, autocommit=False)
        try:
            yield file
            with self.translate_errors(key):
                file.close()  # uploads the last part
                file.commit()  # completes the upload: the object appears
        except BaseException:
            with contextlib.suppress(Exception):
                file.discard()
            file.closed = True  # or fsspec's finaliser would try to upload the discarded buffer
            raise

    def delete(self, ref: str) -> None:
        key = self.key(ref)
        with self.translate_errors(key), contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(self._path(key))

    def _info(self, key: str) -> dict[str, Any]:
        with self.translate_errors(key):
            try:
                info = self._fs.info(self._path(key))
            except FileNotFoundError as error:
                raise NotFound(f"no file {key!r} in storage") from error
        if info.get("type") != "file":
            raise PathRefused(f"{key!r} is a directory, not a file")
        return info

    def _path(self, key: str) -> str:
        return f"{self._base}/{key}"
