"""How a job's result writes the numbers JSON has no literal for, the same in every service.

Infinities are the strings "Infinity" and "-Infinity" (a string keeps them
apart from missing values); NaN is `null`, a missing value. So a result is
strict JSON, and a client reads file_service's CSV statistics and
analytics_service's tables alike (docs/tasks/analytics.md, docs/tasks/files.md).
"""

from __future__ import annotations

import math


def json_number(value: float | int | None) -> float | int | str | None:
    """`value` as a job's result writes it: finite numbers and None as they are."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value
