"""Receiving an uploaded file: multipart, parsed as it streams in, written straight to storage.

The body never sits whole in memory or in a temporary file: each chunk is
parsed as it arrives and the file's bytes go to storage about a megabyte at
a time, hashed on the way. Anything that goes wrong leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from storage import Storage

FIELD = "file"
WRITE_EVERY = 1024 * 1024
# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


class UploadRefused(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class Upload:
    key: str
    filename: str
    size: int
    sha256: str


async def receive_upload(request: Request, storage: Storage, max_bytes: int) -> Upload:
    """Stream the multipart field `file` into storage under `uploads/<random>/<filename>`."""
    boundary = _boundary(request.headers.get("content-type", ""))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD:
        raise UploadRefused(413, f"the file is larger than the limit of {max_bytes} bytes (the request has {declared})")
    parts = _FilePart()
    parser = _parser(boundary, parts)
    writer: _StorageWriter | None = None
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if parts.count > 1:
                raise UploadRefused(422, f"send one file in the field {FIELD!r}, not {parts.count}")
            if parts.count and writer is None:
                writer = await _StorageWriter.open(storage, f"uploads/{uuid.uuid4()}/{parts.filename}")
            if writer is not None and writer.size + parts.pending_size > max_bytes:
                raise UploadRefused(413, f"the file is larger than the limit of {max_bytes} bytes")
            if writer is not None and parts.pending_size >= WRITE_EVERY:
                await writer.write(parts.take())
        parser.finalize()
        if writer is None:
            raise UploadRefused(422, f"the multipart field {FIELD!r} is missing")
        if not parts.complete:
            raise UploadRefused(400, "the multipart body ended in the middle of the file")
        await writer.write(parts.take())
        await writer.finish()
    except ClientDisconnect:
        await _abort(writer)
        raise UploadRefused(400, "the client went away before the upload finished") from None
    except FormParserError as error:
        await _abort(writer)
        raise malformed(error) from None
    except BaseException:
        await _abort(writer)
        raise
    return Upload(writer.key, parts.filename, writer.size, writer.digest.hexdigest())


def _boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise UploadRefused(415, f"send the file as multipart/form-data in the field {FIELD!r}")
    boundary = options.get(b"boundary")
    if not boundary:
        raise UploadRefused(400, "the multipart/form-data content type has no boundary")
    return boundary


def _parser(boundary: bytes, parts: _FilePart) -> MultipartParser:
    try:
        return MultipartParser(boundary, parts.callbacks())
    except FormParserError as error:  # a boundary the parser cannot use, such as one too long
        raise malformed(error) from None


def malformed(error: FormParserError) -> UploadRefused:
    """The parser's own reason, which says what is wrong and where (it gives the offset)."""
    return UploadRefused(400, f"the multipart/form-data body is malformed: {error}")


class _FilePart:
    """What the parser found in the body: the `file` part's name, and its bytes not yet written."""

    def __init__(self) -> None:
        self.count = 0
        self.filename = ""
        self.complete = False
        self.pending: list[bytes] = []
        self.pending_size = 0
        self._in_file = False
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def take(self) -> list[bytes]:
        taken, self.pending, self.pending_size = self.pending, [], 0
        return taken

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._in_file = options.get(b"name") == FIELD.encode()
        if self._in_file:
            self.count += 1
            self.filename = safe_filename(options.get(b"filename", b"").decode("utf-8", "replace"))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.pending.append(bytes(data[start:end]))
            self.pending_size += end - start

    def _part_end(self) -> None:
        if self._in_file:
            self.complete = True
        self._in_file = False


def safe_filename(name: str) -> str:
    """The client's file name reduced to a harmless last path segment."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")[:200]
    return cleaned or "upload"


class _StorageWriter:
    """One file in storage, written from the event loop through a worker thread."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.size = 0
        self.digest = hashlib.sha256()
        self._resources = contextlib.ExitStack()
        self._file: BinaryIO | None = None

    @classmethod
    async def open(cls, storage: Storage, key: str) -> _StorageWriter:
        writer = cls(key)
        writer._file = await asyncio.to_thread(writer._resources.enter_context, storage.open_write(key))
        return writer

    async def write(self, chunks: list[bytes]) -> None:
        await asyncio.to_thread(self._write, chunks)

    def _write(self, chunks: list[bytes]) -> None:
        assert self._file is not None
        for chunk in chunks:
            self.digest.update(chunk)
            self._file.write(chunk)
            self.size += len(chunk)

    async def finish(self) -> None:
        await asyncio.to_thread(self._resources.close)

    async def abort(self, error: BaseException) -> None:
        await asyncio.to_thread(self._resources.__exit__, type(error), error, error.__traceback__)


async def _abort(writer: _StorageWriter | None) -> None:
    if writer is not None:
        # The storage discards a write that ends in an error: no half file remains.
        await asyncio.shield(writer.abort(UploadRefused(499, "upload abandoned")))
