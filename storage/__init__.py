"""Files by reference: a small storage interface with a local and an S3 backend.

Messages carry a file's key (a path under the storage root) or its URL, never
its bytes. Every key is confined to the root: `..`, absolute paths, symlinks
that lead out, and anything that is not a regular file are refused.

The methods block; async code calls them from a worker thread.
"""

from storage.base import Storage, StoredFile
from storage.errors import NotFound, PathRefused, StorageUnavailable
from storage.settings import StorageSettings, open_storage

__all__ = [
    "NotFound",
    "PathRefused",
    "Storage",
    "StorageSettings",
    "StorageUnavailable",
    "StoredFile",
    "open_storage",
]
