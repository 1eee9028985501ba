"""The S3 backend against a real S3 API (moto's server on loopback)."""

import pytest

from storage import NotFound, PathRefused, StorageUnavailable, open_storage
from support.s3 import REGION


@pytest.fixture
def storage(s3_bucket):
    return open_storage(s3_bucket.root, s3_endpoint_url=s3_bucket.endpoint_url, s3_region=REGION, timeout=5)


def test_a_written_file_is_read_back_in_parts(storage, s3_bucket):
    data = bytes(range(256)) * 70_000  # ~18 MB: several multipart parts
    with storage.open_write("outputs/blob.bin") as file:
        for start in range(0, len(data), 1_000_000):
            file.write(data[start : start + 1_000_000])
    assert storage.stat("outputs/blob.bin").size == len(data)
    with storage.open_read(s3_bucket.root + "/outputs/blob.bin") as file:
        assert file.read() == data
    head = s3_bucket.client().head_object(Bucket=s3_bucket.name, Key="files/outputs/blob.bin")
    assert head["ContentLength"] == len(data)


def test_a_failed_write_leaves_no_object(storage):
    with pytest.raises(RuntimeError), storage.open_write("outputs/half.bin") as file:
        file.write(b"x" * 10_000_000)
        raise RuntimeError("stopped")
    with pytest.raises(NotFound):
        storage.stat("outputs/half.bin")


def test_missing_and_outside_keys_are_permanent_errors(storage):
    with pytest.raises(NotFound, match="no file 'nope.csv'"):
        storage.open_read("nope.csv")
    with pytest.raises(PathRefused, match="climbs out"):
        storage.open_read("../other/x")
    with pytest.raises(PathRefused, match="not under this storage's root"):
        storage.open_read("s3://another-bucket/files/x")


def test_an_unreachable_server_is_a_transient_error(s3_bucket):
    from devtools.processes import free_port

    storage = open_storage(s3_bucket.root, s3_endpoint_url=f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(StorageUnavailable):
        storage.stat("x.csv")
