"""gzip and gunzip, streamed; gunzip stops at a cap, so a gzip bomb fails instead of filling the disk."""

from __future__ import annotations

import gzip as gzip_format
import shutil
import zlib

from file_service.errors import Unreadable
from file_service.source import CHUNK, Outcome, Source
from runtime.errors import TooLarge


def gzip(source: Source) -> Outcome:
    key = source.output_key(f"{source.name}.gz")
    with source.open() as file, source.storage.open_write(key) as out:
        # mtime=0: the same input always gives the same bytes, however often the job runs.
        with gzip_format.GzipFile(filename=source.name, mode="wb", fileobj=out, compresslevel=6, mtime=0) as packed:
            shutil.copyfileobj(file, packed, CHUNK)
    return _written(source, key)


def gunzip(source: Source, max_bytes: int) -> Outcome:
    name = source.name.removesuffix(".gz") if source.name.endswith(".gz") else f"{source.name}.out"
    key = source.output_key(name)
    written = 0
    try:
        with source.open() as file, source.storage.open_write(key) as out:
            with gzip_format.GzipFile(fileobj=file, mode="rb") as unpacked:
                while chunk := unpacked.read(CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise TooLarge(
                            f"gunzip stopped after {max_bytes} bytes out (GUNZIP_MAX_BYTES) "
                            f"from {source.file.size} bytes in"
                        )
                    out.write(chunk)
    except (gzip_format.BadGzipFile, EOFError, zlib.error) as error:
        raise Unreadable(f"not a valid gzip file: {error}") from error
    return _written(source, key)


def _written(source: Source, key: str) -> Outcome:
    stored = source.storage.stat(key)
    return Outcome({"key": stored.key, "size": stored.size}, stored)
