"""A directory on this host as storage: the default, and what tests and `make run` use."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from storage.base import Storage, StoredFile
from storage.errors import NotFound, PathRefused


class LocalStorage(Storage):
    def __init__(self, root: str | Path) -> None:
        Path(root).mkdir(parents=True, exist_ok=True)
        self.root = Path(root).resolve()
        self.root_url = self.root.as_uri()

    def stat(self, ref: str) -> StoredFile:
        key, path = self._existing(ref)
        with self.translate_errors(key):
            size = path.stat().st_size
        return StoredFile(key, size)

    def open_read(self, ref: str) -> BinaryIO:
        key, path = self._existing(ref)
        with self.translate_errors(key):
            # O_NONBLOCK: opening a FIFO that replaced the file after the check
            # must not hang; O_NOFOLLOW: nor may a symlink that replaced it.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                _require_regular(key, os.fstat(fd).st_mode)
                os.set_blocking(fd, True)
                return os.fdopen(fd, "rb")
            except BaseException:
                os.close(fd)
                raise

    @contextlib.contextmanager
    def open_write(self, ref: str) -> Iterator[BinaryIO]:
        key = self.key(ref)
        target = self.root / key
        with self.translate_errors(key):
            self._inside(key, target.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            self._inside(key, target.parent)
            fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".partial-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                yield file
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise

    def delete(self, ref: str) -> None:
        key = self.key(ref)
        path = self.root / key
        self._inside(key, path.parent)
        with self.translate_errors(key), contextlib.suppress(FileNotFoundError):
            path.unlink()

    def _existing(self, ref: str) -> tuple[str, Path]:
        """The key and the real path of a regular file under the root."""
        key = self.key(ref)
        try:
            real = (self.root / key).resolve(strict=True)
        except FileNotFoundError as error:
            raise NotFound(f"no file {key!r} in storage") from error
        except (OSError, RuntimeError) as error:  # a symlink loop, a component that is a file
            raise PathRefused(f"{key!r} cannot be resolved: {error}") from error
        self._inside(key, real)
        with self.translate_errors(key):
            _require_regular(key, real.stat().st_mode)
        return key, real

    def _inside(self, key: str, path: Path) -> None:
        if not path.resolve().is_relative_to(self.root):
            raise PathRefused(f"{key!r} leads outside the storage root (through a symlink)")


_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def _require_regular(key: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for is_kind, name in _NOT_REGULAR if is_kind(mode)), "not a regular file")
        raise PathRefused(f"{key!r} is {kind}, not a regular file")
