"""Runs declared pandas pipelines over posted records or a stored dataset.

`validation` is plain Python (no pandas), so the gateway can check a pipeline
against inline records before accepting it; the rest of the package is the
service, which needs the `analytics` extra.
"""
