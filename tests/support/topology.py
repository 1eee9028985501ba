"""The retry policy the tests run with: the production code's, with short delays."""

from contracts.topology import RetryPolicy

TEST_RETRY = RetryPolicy(max_attempts=3, first_delay=0.2, multiplier=2.0, max_delay=5.0)
