"""Runs declared pandas pipelines over posted records or a stored dataset.

The whole package is the service, which needs the `analytics` extra. The
pipeline check it shares with the gateway is plain Python (no pandas) and lives
in the contracts (`contracts.pipeline_check`), so the gateway can check a
pipeline against inline records before accepting it.
"""
