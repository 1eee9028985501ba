"""Offload's benchmark: how fast the gateway accepts jobs, how fast the runtime
drains them, and how long a job waits between its POST and its handler, each
measured next to a bare baseline in the same run (`python -m bench`)."""
