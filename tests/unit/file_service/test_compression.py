"""gzip round trips; gunzip refuses a bomb past its cap and leaves nothing behind."""

import gzip as gzip_format
import os

import pytest

from file_service.errors import Unreadable
from file_service.operations.compression import gunzip, gzip
from file_service.settings import FileSettings
from runtime.errors import TooLarge


def test_gzip_then_gunzip_gives_the_same_bytes(source_of, storage):
    data = os.urandom(100_000) + b"text" * 100_000
    packed = gzip(source_of(data, "inbox/blob.bin")).output
    assert packed is not None and packed.key.endswith("/blob.bin.gz")
    with storage.open_read(packed.key) as file:
        assert gzip_format.decompress(file.read()) == data
    with storage.open_read(packed.key) as file:
        unpacked = gunzip(source_of(file.read(), "inbox/blob.bin.gz"), max_bytes=10**9).output
    assert unpacked is not None and unpacked.key.endswith("/blob.bin")
    assert unpacked.size == len(data)


def test_gzip_is_deterministic(source_of, storage):
    first = gzip(source_of(b"same" * 1000, "inbox/a.txt")).output
    second = gzip(source_of(b"same" * 1000, "inbox/a.txt")).output
    with storage.open_read(first.key) as one, storage.open_read(second.key) as other:
        assert one.read() == other.read()


def test_a_gzip_bomb_stops_at_the_cap(source_of, storage):
    bomb = gzip_format.compress(b"\0" * 50_000_000)  # 50 MB out of ~50 KB in
    source = source_of(bomb, "inbox/bomb.gz")
    with pytest.raises(TooLarge, match="too_large: gunzip stopped after 10000000 bytes"):
        gunzip(source, max_bytes=10_000_000)
    assert not (storage.root / "outputs").exists() or not any((storage.root / "outputs").rglob("bomb"))
    assert source.meter.done < len(bomb)  # it stopped reading early, too


def test_by_default_one_gunzip_writes_at_most_a_gibibyte():
    # A megabyte of gzip can hold a gigabyte of zeros: the cap, not the input, bounds the disk used.
    assert FileSettings(_env_file=None).gunzip_max_bytes == 1024**3


def test_not_gzip_is_unreadable(source_of):
    with pytest.raises(Unreadable, match="not a valid gzip file"):
        gunzip(source_of(b"plain text, not gzip", "inbox/x.gz"), max_bytes=10**6)


def test_a_truncated_gzip_is_unreadable(source_of):
    packed = gzip_format.compress(os.urandom(10_000))
    with pytest.raises(Unreadable, match="not a valid gzip file"):
        gunzip(source_of(packed[:-100], "inbox/cut.gz"), max_bytes=10**6)
