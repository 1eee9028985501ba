"""`TooLarge` reads the same on a job and a dead letter whichever service raises it."""

from contracts.events import ErrorInfo
from runtime.consumer import _error_info
from runtime.errors import PermanentError, TooLarge


def test_too_large_is_permanent_so_it_is_dead_lettered_without_retries():
    assert issubclass(TooLarge, PermanentError)


def test_too_large_is_reported_by_its_type_and_a_message_starting_with_too_large():
    error = TooLarge("gunzip stopped after 1000000 bytes")

    assert _error_info(error) == ErrorInfo(type="TooLarge", message="too_large: gunzip stopped after 1000000 bytes")
