"""An uploaded file keeps its name in storage, reduced to something harmless."""

import pytest

from gateway.uploads import safe_filename


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("orders.csv", "orders.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ada\\report 2024.xlsx", "report_2024.xlsx"),
        (".bashrc", "bashrc"),
        ("..", "upload"),
        ("", "upload"),
        ("naïve\x00.csv", "na_ve_.csv"),
        ("x" * 300 + ".csv", "x" * 200),
    ],
)
def test_client_file_names_are_reduced_to_one_safe_segment(sent, kept):
    assert safe_filename(sent) == kept
