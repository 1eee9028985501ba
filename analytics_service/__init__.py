"""Runs declared pandas pipelines over records or stored datasets.

Not built yet (the analytics_service issue). Until it is, the gateway accepts
`POST /v1/analytics` and the jobs wait, durably, in the service's queue.
"""
