"""The storage interface both backends implement."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote

from storage.errors import NotFound, PathRefused, StorageUnavailable
from storage.keys import clean_key


@dataclass(frozen=True)
class StoredFile:
    """A file as a job's result may describe it: by its key, never by where the root is on this host."""

    key: str
    """The path under the storage root."""
    size: int


class Storage(ABC):
    transient_errors: tuple[type[BaseException], ...] = (OSError, TimeoutError)
    """What the backend raises when the storage is unreachable or slow: worth retrying."""
    root_url: str
    """`file:///...` or `s3://bucket/prefix`; a reference may be a URL under it."""

    def key(self, ref: str) -> str:
        """The key a reference names: a path under the root, or a URL under `root_url`."""
        if "://" in ref:
            prefix = self.root_url.rstrip("/") + "/"
            if not ref.startswith(prefix):
                raise PathRefused(f"{ref!r} is not under this storage's root {self.root_url!r}")
            rest = ref[len(prefix) :]
            return clean_key(unquote(rest) if prefix.startswith("file:") else rest)
        return clean_key(ref)

    def url(self, key: str) -> str:
        """The backend's own address of a key, which `key()` reads back.

        It tells where the root is (a local path, a bucket): results name files
        by key, and a client refers to them by key too.
        """
        return f"{self.root_url.rstrip('/')}/{clean_key(key)}"

    @abstractmethod
    def stat(self, ref: str) -> StoredFile:
        """The file's size; `NotFound` or `PathRefused` if it is not a readable regular file."""

    @abstractmethod
    def open_read(self, ref: str) -> BinaryIO:
        """A binary file to read from start to end; close it when done."""

    @abstractmethod
    def open_write(self, ref: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A file to write; it appears at `ref` only if the block ends without an error."""

    @abstractmethod
    def delete(self, ref: str) -> None:
        """Remove the file if it is there."""

    @contextlib.contextmanager
    def translate_errors(self, ref: str) -> Iterator[None]:
        """Turn the backend's I/O errors into `NotFound`, `PathRefused` or `StorageUnavailable`."""
        try:
            yield
        except (NotFound, PathRefused, StorageUnavailable):
            raise
        except FileNotFoundError as error:
            raise NotFound(f"no file {ref!r} in storage") from error
        except (IsADirectoryError, NotADirectoryError) as error:
            raise PathRefused(f"{ref!r} is not a regular file") from error
        except PermissionError as error:
            raise PathRefused(f"no permission to read {ref!r}: {error}") from error
        except self.transient_errors as error:
            raise StorageUnavailable(f"storage failed on {ref!r}: {error}") from error
