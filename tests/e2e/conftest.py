"""End-to-end tests run the system as separate processes (see `support.system`)."""

from support.system import email_service, gateway, processes, smtp_server  # noqa: F401 - fixtures
