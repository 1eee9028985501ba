"""Sends push notifications through pluggable HTTP providers.

Not built yet (the notify_service issue). Until it is, the gateway accepts
`POST /v1/notifications` and the jobs wait, durably, in the service's queue.
"""
