"""Tools for running Offload locally, shared by the tests and the benchmarks."""
