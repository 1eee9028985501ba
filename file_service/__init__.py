"""Processes large files by reference: checksums, CSV statistics, conversions.

Not built yet (the file_service issue). Until it is, the gateway accepts
`POST /v1/files` and the jobs wait, durably, in the service's queue.
"""
