"""Files end to end: upload or reference in, outputs in storage, the result on the job."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from devtools.processes import free_port
from runtime.broker import Broker
from support.jobs import wait_for_job

ORDERS = (
    "order_id,customer,amount,shipped\n"
    + "".join(f"{i},customer-{i % 13},{i * 0.5},{'true' if i % 2 else 'false'}\n" for i in range(1, 2001))
    + "2001,,,\n"
).encode()


def test_upload_a_csv_and_read_every_output_from_the_job(gateway, file_service, tmp_path):
    file_service()
    client = gateway()

    response = client.post(
        "/v1/files/upload",
        params={"operations": "checksum,csv_stats,csv_to_parquet,gzip"},
        files={"file": ("orders.csv", ORDERS, "text/csv")},
    )

    assert response.status_code == 202, response.text
    job = wait_for_job(client, response.json()["job_id"], "succeeded")
    result = job["result"]
    assert result["source"]["key"].startswith("uploads/") and result["source"]["key"].endswith("/orders.csv")
    assert result["checksum"]["sha256"] == hashlib.sha256(ORDERS).hexdigest()
    assert (result["checksum"]["size"], result["checksum"]["media_type"]) == (len(ORDERS), "text/csv")

    expected = pd.read_csv(io.BytesIO(ORDERS))
    stats = result["csv_stats"]
    assert stats["rows"] == len(expected) == 2001
    amount = next(column for column in stats["columns"] if column["name"] == "amount")
    assert amount["nulls"] == 1 and amount["max"] == expected["amount"].max()
    assert amount["mean"] == pytest.approx(expected["amount"].mean())

    root = tmp_path / "files"
    assert [output["operation"] for output in result["outputs"]] == ["csv_to_parquet", "gzip"]
    parquet = root / result["csv_to_parquet"]["key"]
    assert str(tmp_path) not in json.dumps(result)  # files are named by key, never by local path
    converted = pq.read_table(parquet).to_pandas()
    assert converted["order_id"].tolist() == expected["order_id"].tolist()
    assert gzip.decompress((root / result["gzip"]["key"]).read_bytes()) == ORDERS
    assert job["progress"]["done"] == job["progress"]["total"] and job["progress"]["unit"] == "bytes"


def test_a_file_by_reference_in_the_local_root(gateway, file_service, tmp_path):
    file_service()
    client = gateway()
    data = os.urandom(3_000_000)
    (tmp_path / "files" / "inbox").mkdir(parents=True, exist_ok=True)
    (tmp_path / "files" / "inbox" / "blob.bin").write_bytes(data)

    job_id = client.post("/v1/files", json={"source": "inbox/blob.bin", "operations": ["checksum"]}).json()["job_id"]

    checksum = wait_for_job(client, job_id, "succeeded")["result"]["checksum"]
    assert checksum["sha256"] == hashlib.sha256(data).hexdigest()
    assert checksum["media_type"] == "application/octet-stream"


def test_s3_storage_by_upload_and_by_reference(gateway, file_service, s3_bucket):
    file_service(**s3_bucket.env)
    client = gateway(**s3_bucket.env)
    s3 = s3_bucket.client()
    packed = gzip.compress(ORDERS)
    s3.put_object(Bucket=s3_bucket.name, Key="files/inbox/orders.csv.gz", Body=packed)

    by_reference = client.post(
        "/v1/files", json={"source": f"{s3_bucket.root}/inbox/orders.csv.gz", "operations": ["checksum", "gunzip"]}
    ).json()["job_id"]
    uploaded = client.post(
        "/v1/files/upload", params={"operations": "csv_to_parquet"}, files={"file": ("orders.csv", ORDERS)}
    ).json()["job_id"]

    result = wait_for_job(client, by_reference, "succeeded")["result"]
    assert result["checksum"]["sha256"] == hashlib.sha256(packed).hexdigest()
    unpacked = s3.get_object(Bucket=s3_bucket.name, Key=f"files/{result['gunzip']['key']}")["Body"].read()
    assert unpacked == ORDERS
    assert s3_bucket.name not in json.dumps(result)  # by key, never by bucket

    converted = wait_for_job(client, uploaded, "succeeded")["result"]["csv_to_parquet"]
    body = s3.get_object(Bucket=s3_bucket.name, Key=f"files/{converted['key']}")["Body"].read()
    assert pq.read_table(io.BytesIO(body)).num_rows == converted["rows"] == 2001


def test_a_symlink_out_of_the_root_dead_letters_and_nothing_outside_is_read(gateway, file_service, tmp_path):
    file_service()
    client = gateway()
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the root")
    os.utime(secret, (0, secret.stat().st_mtime))  # any read would move the access time off 0
    (tmp_path / "files").mkdir(exist_ok=True)
    (tmp_path / "files" / "innocent.csv").symlink_to(secret)

    job_id = client.post("/v1/files", json={"source": "innocent.csv", "operations": ["checksum"]}).json()["job_id"]

    job = wait_for_job(client, job_id, "dead_lettered")
    assert job["attempts"] == 1
    assert job["error"]["reason"] == "permanent_error" and job["error"]["type"] == "PathRefused"
    assert "'innocent.csv' leads outside the storage root" in job["error"]["message"]
    assert secret.stat().st_atime == 0
    letters = client.get("/v1/dead-letters", params={"service": "file"}).json()["dead_letters"]
    assert [letter["job_id"] for letter in letters] == [job_id]


async def test_traversal_is_refused_at_the_gateway_and_from_the_broker(gateway, file_service, amqp_url, topology):
    file_service()
    client = gateway()

    response = client.post("/v1/files", json={"source": "../secret.txt", "operations": ["checksum"]})
    assert response.status_code == 422
    assert "climbs out with '..'" in response.json()["detail"][0]["msg"]

    job_id = str(uuid.uuid4())
    body = {
        "message_id": str(uuid.uuid4()),
        "job_id": job_id,
        "type": "file.requested",
        "version": "1.0",
        "created_at": datetime.now(UTC).isoformat(),
        "source": "inbox/../../secret.txt",
        "operations": ["checksum"],
    }
    broker = Broker(amqp_url, topology, name="direct-publisher")
    await broker.connect()
    await broker.declare(topology.service("file").all())
    await broker.publish_body(json.dumps(body).encode(), exchange=topology.events.name, routing_key="file.requested")
    await broker.close()
    job = wait_for_job(client, job_id, "dead_lettered")
    assert job["error"]["reason"] == "invalid_message"
    assert "climbs out with '..'" in job["error"]["message"]


@pytest.mark.parametrize(
    ("source", "operations", "error_type", "says"),
    [
        ("inbox/missing.csv", ["checksum"], "NotFound", "no file 'inbox/missing.csv' in storage"),
        ("inbox/not.csv", ["csv_stats"], "Unreadable", "not a readable CSV"),
        ("inbox/bomb.gz", ["gunzip"], "TooLarge", "too_large: gunzip stopped after 1000000 bytes"),
        ("inbox", ["checksum"], "PathRefused", "'inbox' is a directory"),
    ],
    ids=["missing", "unreadable-csv", "gzip-bomb", "directory"],
)
def test_permanent_failures_are_dead_lettered_with_their_reason(
    gateway, file_service, tmp_path, source, operations, error_type, says
):
    file_service(GUNZIP_MAX_BYTES="1000000")
    client = gateway()
    inbox = tmp_path / "files" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "not.csv").write_bytes(b"a,b\n1,2\n3,4,5,6\n")
    (inbox / "bomb.gz").write_bytes(gzip.compress(b"\0" * 20_000_000))

    job_id = client.post("/v1/files", json={"source": source, "operations": operations}).json()["job_id"]

    job = wait_for_job(client, job_id, "dead_lettered")
    assert job["attempts"] == 1
    assert (job["error"]["reason"], job["error"]["type"]) == ("permanent_error", error_type)
    assert says in job["error"]["message"]
    assert not list(Path(tmp_path / "files").glob("outputs/*/bomb"))


@pytest.mark.parametrize("size", [100_001, 1_000_000], ids=["found-while-streaming", "declared-length"])
def test_an_upload_past_the_limit_is_refused_and_nothing_is_kept(gateway, tmp_path, size):
    client = gateway(MAX_UPLOAD_BYTES="100000")

    response = client.post(
        "/v1/files/upload", params={"operations": "checksum"}, files={"file": ("big.bin", os.urandom(size))}
    )

    assert response.status_code == 413
    assert response.json()["detail"].startswith("the file is larger than the limit of 100000 bytes")
    assert not [path for path in (tmp_path / "files").rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    ("params", "files", "status", "says"),
    [
        ({"operations": "checksum,shred"}, {"file": ("a.csv", b"a\n")}, 422, "Input should be 'checksum'"),
        ({"operations": ""}, {"file": ("a.csv", b"a\n")}, 422, "at least 1 item"),
        ({"operations": "checksum"}, {"other": ("a.csv", b"a\n")}, 422, "the multipart field 'file' is missing"),
    ],
    ids=["unknown-operation", "no-operation", "no-file-field"],
)
def test_bad_uploads_get_a_precise_error(gateway, tmp_path, params, files, status, says):
    client = gateway()

    response = client.post("/v1/files/upload", params=params, files=files)

    assert response.status_code == status
    assert says in json.dumps(response.json())
    assert not [path for path in (tmp_path / "files").rglob("*") if path.is_file()]


def test_an_upload_repeated_with_its_idempotency_key_is_one_job(gateway, tmp_path):
    client = gateway()
    send = {"params": {"operations": "checksum"}, "files": {"file": ("a.csv", b"a,b\n1,2\n")}}
    headers = {"Idempotency-Key": "upload-1"}

    first = client.post("/v1/files/upload", headers=headers, **send)
    again = client.post("/v1/files/upload", headers=headers, **send)

    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len([path for path in (tmp_path / "files").rglob("*") if path.is_file()]) == 1


def test_unreachable_storage_is_retried_not_dead_lettered(gateway, file_service):
    file_service(
        FILE_STORAGE_ROOT="s3://offload-nowhere/files",
        S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        STORAGE_TIMEOUT="1",
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="y",
    )
    client = gateway()

    job_id = client.post("/v1/files", json={"source": "inbox/a.csv", "operations": ["checksum"]}).json()["job_id"]

    job = wait_for_job(client, job_id, "retrying", timeout=30)
    assert job["error"]["type"] == "StorageUnavailable"
    assert "storage failed on 'inbox/a.csv'" in job["error"]["message"]
