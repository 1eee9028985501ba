"""Three sales in two cities, summed and averaged per city: the analysis the unit and end-to-end tests both run.

The handler's unit test and the end-to-end test post the same records and
expect the same result, so the example and its answer are written once.
"""

RECORDS = [{"city": "Oslo", "amount": 3.5}, {"city": "Oslo", "amount": 1.5}, {"city": "Rome", "amount": 2}]
GROUPBY = {"op": "groupby", "by": ["city"], "aggregations": {"amount": ["sum", "mean"]}}
# What the analysis answers for RECORDS grouped by GROUPBY: small enough to come back inline.
GROUPED = {
    "input_rows": 3,
    "rows": 2,
    "columns": ["city", "amount_sum", "amount_mean"],
    "records": [
        {"city": "Oslo", "amount_sum": 5.0, "amount_mean": 2.5},
        {"city": "Rome", "amount_sum": 2.0, "amount_mean": 2.0},
    ],
}
