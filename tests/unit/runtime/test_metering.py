"""A file read in a worker thread counts its bytes on the job's tally, and stops when the job is cancelled."""

import io

import pytest

from runtime.job import Cancelled, Tally
from runtime.metering import MeteredReader


def test_reads_are_counted_until_the_job_is_cancelled():
    tally = Tally()
    reader = io.BufferedReader(MeteredReader(io.BytesIO(b"x" * 10_000), tally), buffer_size=1024)

    assert reader.read(3000) == b"x" * 3000
    assert tally.done >= 3000

    tally.cancelled.set()
    with pytest.raises(Cancelled):
        reader.read()
