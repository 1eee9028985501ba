"""Sends push notifications through pluggable HTTP providers.

Each `NotificationRequested` names a provider (`webhook`, `webpush`, `fcm`,
or `log`) and up to 10,000 targets; the service fans it out with bounded
concurrency, records each target's outcome so that a retry sends only to the
targets not yet finished, and refuses request-supplied URLs that lead into
private networks (see `destinations`).
"""
