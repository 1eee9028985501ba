"""The code passes ruff's checks and is laid out as ruff formats it (pyproject.toml), so CI enforces both."""

import subprocess
import sys

import pytest

from devtools.processes import ROOT


@pytest.mark.parametrize(
    "ruff",
    [["check", "--output-format=concise"], ["format", "--check"]],
    ids=["finds-nothing", "would-reformat-nothing"],
)
def test_ruff_is_satisfied(ruff):
    checked = subprocess.run(
        [sys.executable, "-m", "ruff", *ruff, "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
