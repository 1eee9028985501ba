"""The operations a job may ask for, by the names the contract gives them."""

from collections.abc import Callable

from file_service.operations.checksum import checksum
from file_service.operations.compression import gunzip, gzip
from file_service.operations.csv_stats import csv_stats
from file_service.operations.parquet import csv_to_parquet
from file_service.settings import FileSettings
from file_service.source import Outcome, Source

Operation = Callable[[Source, FileSettings], Outcome]

OPERATIONS: dict[str, Operation] = {
    "checksum": lambda source, settings: checksum(source),
    "csv_stats": lambda source, settings: csv_stats(source, settings.csv_max_columns),
    "csv_to_parquet": lambda source, settings: csv_to_parquet(source, settings.csv_max_columns),
    "gzip": lambda source, settings: gzip(source),
    "gunzip": lambda source, settings: gunzip(source, settings.gunzip_max_bytes),
}
