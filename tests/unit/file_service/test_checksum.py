"""Checksum, size and media type of a stored file."""

import hashlib
import os

import pytest

from file_service.operations.checksum import checksum, media_type

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def test_sha256_and_size_match_hashlib(source_of):
    data = os.urandom(3 * 1024 * 1024 + 17)
    summary = checksum(source_of(data, "inbox/blob.bin")).summary
    assert summary == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "media_type": "application/octet-stream",
    }


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (PNG, "photo.bin", "image/png"),
        (b"\x1f\x8b\x08\x00" + b"\0" * 20, "data", "application/gzip"),
        (b"a,b\n1,2\n", "orders.csv", "text/csv"),
        (b'{"a": 1}', "x.json", "application/json"),
        ("naïve text".encode(), "notes", "text/plain"),
        ("é".encode()[:1], "cut.txt", "text/plain"),  # a character cut at the end of the sniffed bytes
        (b"\0\1\2\3", "x.csv", "application/octet-stream"),
        (b"", "empty.csv", "text/csv"),
    ],
)
def test_media_type_comes_from_content_then_name(head, name, expected):
    assert media_type(head, name) == expected
