"""What can go wrong with a stored file, sorted into the runtime's two failure classes."""

from runtime.errors import PermanentError, TransientError


class PathRefused(PermanentError):
    """The reference points outside the root, or at something that is not a regular file."""


class NotFound(PermanentError):
    """No file under this reference."""


class StorageUnavailable(TransientError):
    """The storage could not be reached or did not answer in time; worth trying again."""
