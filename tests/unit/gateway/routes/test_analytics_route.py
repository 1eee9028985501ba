"""The analytics route: inline records checked against the pipeline, capped, and spilled to storage when large."""

from __future__ import annotations

import hashlib
import json

import hypothesis
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from contracts.events import TaskType
from gateway.json_bodies import NON_FINITE

JSON = {"content-type": "application/json"}
RECORDS = [{"city": "Oslo", "amount": 3.5}, {"city": "Rome", "amount": 2}]
GROUPBY = {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum"]}}
FILTER_BELOW = {"op": "filter", "column": "a", "operator": "<"}
PROPERTY = hypothesis.settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def many_records(count: int) -> list[dict]:
    return [{"city": f"city-{n}", "amount": n} for n in range(count)]


def test_a_pipeline_that_misfits_the_records_is_a_422_naming_the_operation(client, gateway):
    town = {"op": "groupby", "by": ["town"], "aggregations": {"amount": ["sum"]}}

    response = client.post("/v1/analytics", json={"records": RECORDS, "operations": [GROUPBY, town]})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", "operations", 1, "by"], "pipeline_mismatch")
    assert error["msg"].startswith("operations[1]: unknown column 'town' in 'by'")
    assert gateway.intake.asked == []


def test_more_inline_records_than_the_cap_is_a_413_saying_what_to_do(client, gateway, settings):
    cap = settings.max_inline_records
    response = client.post("/v1/analytics", json={"records": many_records(cap + 1), "operations": [GROUPBY]})

    assert response.status_code == 413
    assert response.json() == {
        "detail": f"{cap + 1} records inline, over MAX_INLINE_RECORDS ({cap}); "
        "store them as a CSV or Parquet dataset and pass its path as 'dataset'"
    }
    assert gateway.intake.asked == []


def test_a_small_batch_travels_inline(client, gateway):
    response = client.post("/v1/analytics", json={"records": RECORDS, "operations": [GROUPBY]})

    assert response.status_code == 202
    [asked] = gateway.intake.asked
    assert asked.task_type is TaskType.analysis
    assert (asked.payload.records, asked.payload.dataset) == (RECORDS, None)


def test_a_large_batch_is_stored_and_passed_by_reference_under_a_name_of_its_content(client, gateway, settings):
    records = many_records(settings.max_inline_records)
    assert len(json.dumps(records)) > settings.inline_records_spill_bytes

    for _ in range(2):
        assert client.post("/v1/analytics", json={"records": records, "operations": [GROUPBY]}).status_code == 202

    first, again = gateway.intake.asked
    assert first.payload.records is None and first.payload.operations == again.payload.operations
    # A retried request becomes the very same event: the same content, the same name.
    assert first.payload.dataset == again.payload.dataset
    with gateway.storage.open_read(first.payload.dataset) as file:
        stored = file.read()
    assert first.payload.dataset == f"analytics/inputs/{hashlib.sha256(stored).hexdigest()}.jsonl"
    assert [json.loads(line) for line in stored.splitlines()] == records


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_a_422(client, literal):
    raw = f'{{"records": [{{"a": {literal}}}], "operations": [{{"op": "describe"}}]}}'
    response = client.post("/v1/analytics", content=raw, headers=JSON)
    assert response.status_code == 422
    assert NON_FINITE in response.json()["detail"][0]["ctx"]["error"]


@PROPERTY
@given(exponent=st.integers(min_value=309, max_value=100_000), sign=st.sampled_from(["", "-"]))
def test_any_number_that_overflows_is_a_422(client, exponent, sign):
    number = f"{sign}1e{exponent}"
    in_a_record = f'{{"records": [{{"a": {number}}}], "operations": [{{"op": "describe"}}]}}'
    in_a_filter = f'{{"records": [{{"a": 1}}], "operations": [{{**FILTER_BELOW, "value": {number}}}]}}'
    in_a_filter = in_a_filter.replace("**FILTER_BELOW", json.dumps(FILTER_BELOW)[1:-1])
    for body in (in_a_record, in_a_filter):
        response = client.post("/v1/analytics", content=body, headers=JSON)
        assert response.status_code == 422, response.text
        assert "finite" in response.json()["detail"][0]["msg"]


def test_an_integer_pandas_cannot_hold_is_a_422(client):
    body = {"records": [{"a": 1}], "operations": [{**FILTER_BELOW, "value": 2**64}]}
    response = client.post("/v1/analytics", json=body)
    assert response.status_code == 422
    assert "64 bits" in response.json()["detail"][0]["msg"]
