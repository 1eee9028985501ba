"""End-to-end tests run the system as separate processes (see `support.system`)."""

from support.s3 import s3_bucket, s3_endpoint  # noqa: F401, E402 - fixtures
from support.system import (  # noqa: F401 - fixtures
    analytics_service,
    email_service,
    file_service,
    gateway,
    ledger_service,
    notify_service,
    processes,
    service_process,
    smtp_server,
)
