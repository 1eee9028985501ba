"""Hypothesis strategies for headers as anyone may publish them: any value, of any type."""

from __future__ import annotations

from hypothesis import strategies as st

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.decimals(allow_nan=True)
    | st.text()
    | st.binary()
    | st.datetimes()
    # Text a lax reader would take for a number.
    | st.sampled_from(["1", "-5", "abc", "100000000000000000000", "1e30", " 3 "])
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
)
# RabbitMQ's own account of a dead-lettering, well-formed or not.
x_death = st.lists(
    st.dictionaries(st.sampled_from(["reason", "queue", "count", "time", "routing-keys"]), values), max_size=2
)


def header_tables(names: list[str]) -> st.SearchStrategy[dict[str, object]]:
    """Tables of `names` with any values, or an `x-death` alone."""
    return st.dictionaries(st.sampled_from([*names, "x-death"]), values) | st.fixed_dictionaries(
        {"x-death": x_death | values}
    )
