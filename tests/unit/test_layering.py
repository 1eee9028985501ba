"""Each process stands alone: no service imports another, and the gateway imports none of them.

So each can be installed and deployed with its own dependencies (pandas only
in analytics_service); what they share lives in contracts/, runtime/, storage/
and tabular/, each with its own extra, which import no process.
"""

import ast
from pathlib import Path

import pytest

from devtools.processes import ROOT

PROCESSES = ["gateway", "email_service", "file_service", "notify_service", "analytics_service"]
# Lowest first: each imports only those before it, so no two import each other.
SHARED = ["contracts", "runtime", "storage", "tabular"]


def imported_packages(package: str) -> set[str]:
    found: set[str] = set()
    for path in Path(ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", PROCESSES)
def test_a_process_imports_no_other_process(package):
    assert imported_packages(package) & (set(PROCESSES) - {package}) == set()


@pytest.mark.parametrize("package", SHARED)
def test_a_shared_package_imports_no_process_and_only_the_shared_packages_below_it(package):
    first_party = imported_packages(package) & {*SHARED, *PROCESSES}
    assert first_party - {package} <= set(SHARED[: SHARED.index(package)])


def test_only_analytics_service_imports_pandas():
    assert [package for package in PROCESSES if "pandas" in imported_packages(package)] == ["analytics_service"]
    assert [package for package in SHARED if "pandas" in imported_packages(package)] == []
