"""Analytics end to end: gateway and analytics_service as separate processes, files in real storage."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from devtools.processes import ROOT
from support.city_sales import GROUPBY, GROUPED, RECORDS
from support.jobs import wait_for_job
from support.s3 import s3_bucket, s3_endpoint  # noqa: F401 - fixtures

PAGE = (ROOT / "docs" / "tasks" / "analytics.md").read_text()
SALES = pd.DataFrame(
    {
        "city": np.tile(["Oslo", "Rome", "Lima", "Pune"], 500),
        "amount": np.arange(2000) * 0.25,
        "at": pd.date_range("2024-01-01", periods=2000, freq="1h", tz="UTC"),
    }
)


@pytest.fixture
def system(gateway, analytics_service, tmp_path):  # noqa: F811 - fixture
    """A gateway and an analytics_service sharing a local storage root; returns (client, root)."""

    def start(**service_env: str):
        root = tmp_path / "files"
        analytics_service(FILE_STORAGE_ROOT=str(root), **service_env)
        return gateway(FILE_STORAGE_ROOT=str(root)), root

    return start


def expected_groupby(frame):
    table = frame.groupby("city").agg(amount_sum=("amount", "sum"), amount_mean=("amount", "mean"))
    return table.reset_index().to_dict("records")


def test_inline_records_grouped(system):
    client, _ = system()

    response = client.post("/v1/analytics", json={"records": RECORDS, "operations": [GROUPBY]})

    assert response.status_code == 202, response.text
    job = wait_for_job(client, response.json()["job_id"], "succeeded")
    assert job["type"] == "analysis" and job["attempts"] == 1
    assert job["result"] == GROUPED


def test_a_parquet_dataset_by_reference(system):
    client, root = system()
    (root / "datasets").mkdir(parents=True)
    SALES.to_parquet(root / "datasets" / "sales.parquet")

    response = client.post("/v1/analytics", json={"dataset": "datasets/sales.parquet", "operations": [GROUPBY]})

    job = wait_for_job(client, response.json()["job_id"], "succeeded")
    assert job["result"]["records"] == expected_groupby(SALES)
    assert job["progress"]["done"] == job["progress"]["total"] == 2000


def test_a_parquet_dataset_in_s3(gateway, analytics_service, s3_bucket):  # noqa: F811 - fixtures
    analytics_service(**s3_bucket.env)
    client = gateway(**s3_bucket.env)
    s3_bucket.client().put_object(Bucket=s3_bucket.name, Key="files/sales.parquet", Body=SALES.to_parquet())

    response = client.post(
        "/v1/analytics",
        json={"dataset": f"{s3_bucket.root}/sales.parquet", "operations": [GROUPBY]},
    )

    job = wait_for_job(client, response.json()["job_id"], "succeeded")
    assert job["result"]["records"] == expected_groupby(SALES)


def test_a_pipeline_that_misfits_the_records_is_a_422(gateway):
    client = gateway()
    bad = {"op": "groupby", "by": ["town"], "aggregations": {"amount": ["sum"]}}

    response = client.post("/v1/analytics", json={"records": RECORDS, "operations": [GROUPBY, bad]})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "operations", 1, "by"]
    assert error["msg"].startswith("operations[1]: unknown column 'town' in 'by'")
    mismatch = {"op": "groupby", "by": ["amount"], "aggregations": {"city": ["mean"]}}
    response = client.post("/v1/analytics", json={"records": RECORDS, "operations": [mismatch]})
    assert "type mismatch: cannot take the mean of column 'city', which holds text" in response.text
    unknown = client.post("/v1/analytics", json={"records": RECORDS, "operations": [{"op": "eval", "expr": "1"}]})
    assert unknown.status_code == 422
    assert client.get("/v1/jobs").json()["total"] == 0


def test_an_over_cap_dataset_is_dead_lettered_as_too_large(system):
    client, root = system(ANALYTICS_MAX_ROWS="1000")
    SALES.to_parquet(root / "sales.parquet")

    response = client.post("/v1/analytics", json={"dataset": "sales.parquet", "operations": [GROUPBY]})

    job = wait_for_job(client, response.json()["job_id"], "dead_lettered")
    assert job["attempts"] == 1
    assert job["error"]["reason"] == "permanent_error"
    assert job["error"]["type"] == "TooLarge"
    assert job["error"]["message"].startswith("too_large: the dataset has more than 1000 rows")


def test_a_large_result_is_written_to_storage(system):
    client, root = system(ANALYTICS_INLINE_RESULT_ROWS="100")
    SALES.to_parquet(root / "sales.parquet")
    keep = {"op": "filter", "column": "city", "operator": "in", "value": ["Oslo", "Rome"]}

    response = client.post("/v1/analytics", json={"dataset": "sales.parquet", "operations": [keep]})

    job_id = response.json()["job_id"]
    result = wait_for_job(client, job_id, "succeeded")["result"]
    assert result["rows"] == 1000 and "records" not in result and len(result["preview"]) == 10
    parquet = root / "results" / job_id / "result.parquet"
    assert result["files"] == {"parquet": f"results/{job_id}/result.parquet", "csv": f"results/{job_id}/result.csv"}
    written = pd.read_parquet(parquet)
    assert written["city"].tolist() == SALES[SALES.city.isin(["Oslo", "Rome"])]["city"].tolist()
    assert str(written["at"].dt.tz) == "UTC"


def test_a_large_inline_batch_travels_by_reference(gateway, analytics_service, tmp_path):  # noqa: F811
    root = tmp_path / "files"
    analytics_service(FILE_STORAGE_ROOT=str(root))
    client = gateway(FILE_STORAGE_ROOT=str(root), INLINE_RECORDS_SPILL_BYTES="1000", MAX_INLINE_RECORDS="500")
    # Some 1.6 MB of JSON: over the app's 1 MiB body limit, under the analytics route's own.
    records = [{**record, "note": "x" * 4000} for record in SALES.head(400)[["city", "amount"]].to_dict("records")]

    response = client.post("/v1/analytics", json={"records": records, "operations": [GROUPBY]})

    assert response.status_code == 202, response.text

    job = wait_for_job(client, response.json()["job_id"], "succeeded")
    assert job["result"]["records"] == expected_groupby(SALES.head(400))
    [stored] = (root / "analytics" / "inputs").iterdir()
    assert stored.suffix == ".jsonl" and len(stored.read_text().splitlines()) == 400
    too_many = client.post("/v1/analytics", json={"records": records * 2, "operations": [GROUPBY]})
    assert too_many.status_code == 413
    assert "800 records inline, over MAX_INLINE_RECORDS (500)" in too_many.text


def documented_body(marker: str) -> dict:
    match = re.search(rf"<!-- readme-example: {marker} -->\s*```sh\n.*?-d '(.*?)'", PAGE, re.S)
    assert match, f"docs/tasks/analytics.md lost its {marker!r} example"
    return json.loads(match.group(1))


def test_the_documented_examples_work(system):
    client, root = system()
    dataset_body = documented_body("analytics-dataset")
    path = root / dataset_body["dataset"]
    path.parent.mkdir(parents=True)
    if path.suffix == ".parquet":
        SALES.to_parquet(path)
    else:
        SALES.to_csv(path, index=False)

    inline = client.post("/v1/analytics", json=documented_body("analytics-records"))
    dataset = client.post("/v1/analytics", json=dataset_body)

    result = wait_for_job(client, inline.json()["job_id"], "succeeded")["result"]
    assert result["records"] == [
        {"city": "Oslo", "amount_sum": 5.0, "amount_mean": 2.5},
        {"city": "Rome", "amount_sum": 2.0, "amount_mean": 2.0},
    ]
    assert wait_for_job(client, dataset.json()["job_id"], "succeeded")["result"]["rows"] == 4
