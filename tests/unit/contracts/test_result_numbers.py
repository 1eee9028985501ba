"""Numbers JSON has no literal for are written the same way in every job's result."""

import json
import math

import pytest

from contracts.result_numbers import json_number


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (math.nan, None),
        (None, None),
        (0, 0),
        (-7, -7),
        (2**63 - 1, 2**63 - 1),
        (1.5, 1.5),
        (-0.0, -0.0),
        (1e308, 1e308),
    ],
)
def test_a_number_is_written_as_strict_json(value, written):
    result = json_number(value)

    assert json.dumps(result, allow_nan=False) == json.dumps(written)
    assert type(result) is type(written)
