"""The file routes: a source by reference, and an upload whose stored copy stays only with its job."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.events import TaskType
from gateway.idempotency import KeyReused
from gateway.intake import NotAccepted

CSV = b"city,amount\nOslo,3.5\nRome,2\n"
MULTIPART = "multipart/form-data; boundary="


def upload(client, name: str = "sales.csv", operations: str = "checksum,csv_stats", key: str = "upload-1"):
    return client.post(
        "/v1/files/upload",
        params={"operations": operations},
        files={"file": (name, CSV)},
        headers={"Idempotency-Key": key},
    )


def stored_uploads(settings) -> list[Path]:
    return [path for path in (Path(settings.file_storage_root) / "uploads").rglob("*") if path.is_file()]


def test_an_uploaded_file_is_stored_and_its_job_reads_the_stored_copy(client, gateway, settings):
    response = upload(client)

    assert response.status_code == 202
    [asked] = gateway.intake.asked
    assert (asked.task_type, asked.idempotency_key) == (TaskType.file, "upload-1")
    assert asked.payload.operations == ["checksum", "csv_stats"]
    with gateway.storage.open_read(asked.payload.source) as file:
        assert file.read() == CSV
    assert [path.name for path in stored_uploads(settings)] == ["sales.csv"]


def test_an_upload_is_the_same_request_for_the_same_file_name_and_operations(client, gateway):
    requests = [
        ("sales.csv", "checksum"),
        ("sales.csv", "checksum"),
        ("other.csv", "checksum"),
        ("sales.csv", "csv_stats"),
    ]
    for name, operations in requests:
        assert upload(client, name, operations).status_code == 202

    first, same, renamed, other_work = gateway.intake.asked
    assert first.payload.source != same.payload.source  # each upload is stored under a name of its own
    assert first.identity == same.identity
    assert first.identity not in (renamed.identity, other_work.identity)


def test_a_repeated_upload_is_answered_as_one_and_its_new_copy_removed(client, gateway, settings):
    gateway.intake.replayed = True

    response = upload(client)

    assert response.status_code == 202
    assert response.headers["Idempotent-Replayed"] == "true"
    assert stored_uploads(settings) == []


@pytest.mark.parametrize(
    ("refusal", "status"), [(NotAccepted("the job store is unavailable"), 503), (KeyReused(), 422)], ids=["503", "422"]
)
def test_an_upload_whose_job_is_refused_leaves_no_file(client, gateway, settings, refusal, status):
    gateway.intake.refusal = refusal

    response = upload(client)

    assert response.status_code == status
    assert len(gateway.intake.asked) == 1
    assert stored_uploads(settings) == []


@pytest.mark.parametrize(
    "source", ["../../etc/passwd?://x", "http://example.com/x", ".", "file:///srv/%2e%2e/x", "ftp://h/x"]
)
def test_a_source_no_service_would_read_is_a_422(client, source):
    response = client.post("/v1/files", json={"source": source, "operations": ["checksum"]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "source"]


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        (
            MULTIPART + "b",
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
            + b"x" * 20_000
            + b'"\r\n\r\nhi\r\n--b--\r\n',
            "Maximum header size exceeded",
        ),
        (MULTIPART + "b" * 100, b"--b\r\n", "Expected boundary character"),
        (MULTIPART + "b" * 300, b"--b\r\n", "Boundary length"),
        (MULTIPART + "b", b"garbage\r\n--b\r\n\r\n", "Expected boundary character"),
    ],
)
def test_a_malformed_multipart_body_is_a_400_naming_the_fault(client, content_type, body, reason):
    response = client.post(
        "/v1/files/upload", params={"operations": "checksum"}, content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 400
    assert reason in response.json()["detail"]
