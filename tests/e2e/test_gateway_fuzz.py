"""An OpenAPI-driven fuzz run: every operation of a running gateway, valid and invalid inputs alike.

No input may get a 5xx (a 503 with Retry-After, the store being down, cannot
happen here: the store is up), and every answer must match the schema the
gateway publishes. Each operation goes through schemathesis' phases: the
schema's examples, the coverage phase (boundary values and wrong types derived
from the schema, the same every run) and fuzzing from a fixed seed
(`derandomize`), so a run never differs from the last. The number of examples
per operation keeps the whole run to about a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.hypothesis.builder import HypothesisTestConfig, HypothesisTestMode, create_test
from schemathesis.specs.openapi.checks import response_schema_conformance

EXAMPLES_PER_OPERATION = 50
CHECKS = [not_a_server_error, response_schema_conformance]
FIXED = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

pytestmark = pytest.mark.slow


def fuzz(operation, base_url: str) -> None:
    def call(case) -> None:
        case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=10)

    config = HypothesisTestConfig(
        project=operation.schema.config, modes=list(HypothesisTestMode), settings=FIXED, explicit_settings=FIXED
    )
    create_test(operation=operation, test_func=call, config=config)()


def test_no_input_gets_a_server_error_or_an_answer_off_the_schema(gateway):
    base_url = str(gateway().base_url).rstrip("/")
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10  # the /v1 API, health and readiness
    failures = []
    for operation in operations:
        try:
            fuzz(operation, base_url)
        except (Exception, BaseExceptionGroup) as failure:  # each operation is reported, not the first only
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
