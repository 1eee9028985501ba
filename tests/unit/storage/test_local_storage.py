"""Every path stays inside the root: the cases an attacker or a careless client would try."""

import os
import socket

import pytest

from storage import NotFound, PathRefused, StoredFile, open_storage
from storage.local import LocalStorage


@pytest.fixture
def outside(tmp_path):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("not for you")
    return secret


@pytest.fixture
def storage(tmp_path):
    root = tmp_path / "root"
    (root / "inbox").mkdir(parents=True)
    (root / "inbox" / "orders.csv").write_text("id,amount\n1,2.5\n")
    return LocalStorage(root)


def test_a_file_under_the_root_is_read(storage):
    with storage.open_read("inbox/orders.csv") as file:
        assert file.read() == b"id,amount\n1,2.5\n"
    found = storage.stat("./inbox//orders.csv")
    assert found == StoredFile("inbox/orders.csv", 16)  # by key: nothing says where the root is


def test_a_url_under_the_root_names_the_same_file(storage):
    assert storage.stat(storage.url("inbox/orders.csv")).key == "inbox/orders.csv"


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("../outside/secret.txt", "climbs out"),
        ("inbox/../../outside/secret.txt", "climbs out"),
        ("/etc/passwd", "absolute path"),
        ("inbox\\..\\..\\x", "backslash"),
        ("inbox/orders.csv\x00.png", "control character"),
        ("", "empty"),
        (".", "storage root itself"),
        ("file:///etc/passwd", "not under this storage's root"),
        ("s3://bucket/x", "not under this storage's root"),
    ],
)
def test_references_that_leave_the_root_are_refused(storage, ref, says):
    with pytest.raises(PathRefused, match=says):
        storage.open_read(ref)


def test_a_symlink_that_escapes_is_refused(storage, outside):
    os.symlink(outside, storage.root / "inbox" / "link.csv")
    with pytest.raises(PathRefused, match="outside the storage root"):
        storage.open_read("inbox/link.csv")


def test_a_symlinked_folder_that_escapes_is_refused_for_writing_too(storage, outside):
    os.symlink(outside.parent, storage.root / "out")
    with pytest.raises(PathRefused, match="outside the storage root"):
        storage.open_read("out/secret.txt")
    with pytest.raises(PathRefused, match="outside the storage root"), storage.open_write("out/new.txt") as file:
        file.write(b"x")
    assert not (outside.parent / "new.txt").exists()


def test_a_symlink_inside_the_root_is_followed(storage):
    os.symlink(storage.root / "inbox" / "orders.csv", storage.root / "latest.csv")
    assert storage.stat("latest.csv").size == 16


def test_a_url_with_dot_dot_is_refused(storage):
    with pytest.raises(PathRefused, match="climbs out"):
        storage.open_read(storage.root_url + "/inbox/%2E%2E/%2E%2E/outside/secret.txt")


def test_a_fifo_is_refused_without_blocking(storage):
    os.mkfifo(storage.root / "inbox" / "pipe")
    with pytest.raises(PathRefused, match="is a FIFO"):
        storage.open_read("inbox/pipe")


def test_a_directory_is_refused(storage):
    with pytest.raises(PathRefused, match="is a directory"):
        storage.open_read("inbox")


def test_a_device_is_refused(storage):
    os.symlink("/dev/zero", storage.root / "zero")  # escapes too; a device node needs root to create
    with pytest.raises(PathRefused):
        storage.open_read("zero")


def test_a_socket_is_refused(storage):
    path = storage.root / "inbox" / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(PathRefused, match="is a socket"):
            storage.stat("inbox/s")


def test_a_missing_file_is_not_found(storage):
    with pytest.raises(NotFound, match="no file 'inbox/nope.csv'"):
        storage.open_read("inbox/nope.csv")


def test_a_write_appears_only_when_finished(storage):
    with pytest.raises(RuntimeError), storage.open_write("out/result.bin") as file:
        file.write(b"half")
        raise RuntimeError("stopped halfway")
    assert not (storage.root / "out" / "result.bin").exists()
    assert list((storage.root / "out").iterdir()) == []  # no partial file left behind
    with storage.open_write("out/result.bin") as file:
        file.write(b"whole")
    assert (storage.root / "out" / "result.bin").read_bytes() == b"whole"


def test_the_root_picks_the_backend(tmp_path):
    assert isinstance(open_storage(str(tmp_path / "files")), LocalStorage)
    with pytest.raises(ValueError, match="directory or an s3:// URL"):
        open_storage("ftp://example.com/x")
