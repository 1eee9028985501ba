"""Tools for running Offload locally."""
