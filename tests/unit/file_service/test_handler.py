"""The handler's result: each operation's findings, and every file named by its key under the storage root."""

import json
import uuid

from contracts.events import FileProcessingRequested
from file_service.handler import FileHandler
from file_service.settings import FileSettings
from runtime.job import JobContext


async def test_files_are_named_by_key_never_by_local_path(storage):
    with storage.open_write("inbox/orders.csv") as file:
        file.write(b"id,amount\n1,2.5\n2,3.5\n")
    handler = FileHandler(FileSettings(_env_file=None), storage)
    # The client may name the source by its storage URL: the result still gives the key.
    event = FileProcessingRequested(
        source=storage.url("inbox/orders.csv"), operations=["checksum", "csv_to_parquet", "gzip"]
    )

    result = await handler(event, JobContext(uuid.uuid4(), 1))

    outputs = f"outputs/{event.job_id}"
    assert result["source"] == {"key": "inbox/orders.csv", "size": 22}
    assert result["csv_to_parquet"]["key"] == f"{outputs}/orders.parquet"
    assert result["gzip"]["key"] == f"{outputs}/orders.csv.gz"
    assert [(output["operation"], output["key"]) for output in result["outputs"]] == [
        ("csv_to_parquet", f"{outputs}/orders.parquet"),
        ("gzip", f"{outputs}/orders.csv.gz"),
    ]
    assert storage.stat(result["gzip"]["key"]).size == result["gzip"]["size"]  # the key is what a client uses
    written = json.dumps(result)
    assert str(storage.root) not in written and "file:" not in written
