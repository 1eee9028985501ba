"""Tables read from files: CSVs block by block with pyarrow, for the services that read them.

file_service (CSV statistics, CSV to Parquet) and analytics_service (CSV
datasets) share one reader (`tabular.reading.read_csv`), so a CSV gets the same
column types, null markers and header cap in both. Needs pyarrow: install the
`tabular` extra, which the `files` and `analytics` extras include.
"""

from tabular.reading import CsvTable, read_csv

__all__ = ["CsvTable", "read_csv"]
