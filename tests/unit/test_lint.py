"""The code passes ruff's checks, as configured in pyproject.toml, so CI enforces them with the tests."""

import subprocess
import sys

from devtools.processes import ROOT


def test_ruff_finds_nothing():
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format=concise", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
