import uuid

import pytest

from file_service.source import Source
from runtime.job import Tally
from storage.local import LocalStorage


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "files")


@pytest.fixture
def source_of(storage):
    """A `Source` for bytes written under the storage root as `name`."""

    def make(data: bytes, name: str = "inbox/data.csv") -> Source:
        with storage.open_write(name) as file:
            file.write(data)
        stored = storage.stat(name)
        return Source(storage, stored, uuid.uuid4(), Tally(total=stored.size, unit="bytes"))

    return make
