"""The unit and integration tests mirror the packages, so a module's tests are found where its package's are.

tests/<layer>/<package>/ holds the tests of <package>; a deeper directory mirrors
a sub-package. A test module named for a module (test_store.py for
gateway/store.py) sits under the package that has it: tests/<layer>/gateway/,
or tests/<layer>/<package>/<sub-package>/ for a module of a sub-package. The
packages are the directories at the root that hold an `__init__.py`, so a new
package needs no change here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePath

import pytest

from devtools.processes import ROOT

LAYERS = ["unit", "integration"]


def packages(root: Path) -> set[str]:
    return {init.parent.name for init in root.glob("*/__init__.py")}


def unmirrored_directories(root: Path, layer: str) -> list[str]:
    """The directories of tests/<layer> that mirror no package or sub-package of `root`."""
    tests = root / "tests" / layer
    found = [path.relative_to(tests) for path in tests.rglob("*") if path.is_dir()]
    return sorted(
        str(directory)
        for directory in found
        if "__pycache__" not in directory.parts
        and (directory.parts[0] not in packages(root) or not (root / directory).is_dir())
    )


def misplaced_tests(root: Path, layer: str) -> dict[str, list[str]]:
    """The test modules of tests/<layer> named for a module of `root` but away from it, with where it is."""
    homes: dict[str, set[PurePath]] = {}
    for package in packages(root):
        for path in (root / package).rglob("*.py"):
            # A sub-package is named by its directory, a module by its file.
            name = path.parent.name if path.name == "__init__.py" else path.stem
            homes.setdefault(name, set()).add(path.parent.relative_to(root))
    tests = root / "tests" / layer
    misplaced = {}
    for path in sorted(tests.rglob("test_*.py")):
        name = path.stem.removeprefix("test_")
        directory = path.parent.relative_to(tests)
        if name in homes and not any(is_under(directory, home) for home in homes[name]):
            misplaced[str(path.relative_to(tests))] = sorted(str(home) for home in homes[name])
    return misplaced


def is_under(directory: PurePath, home: PurePath) -> bool:
    """Whether `directory` is `home` or one of its parents, the package's own directory at least."""
    return 0 < len(directory.parts) <= len(home.parts) and home.parts[: len(directory.parts)] == directory.parts


def test_the_packages_found_include_every_one_pyproject_installs():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    installed = {pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}

    assert installed and installed <= packages(ROOT)


@pytest.mark.parametrize("layer", LAYERS)
def test_each_directory_of_a_layer_mirrors_a_package(layer):
    assert any((ROOT / "tests" / layer).iterdir())
    assert unmirrored_directories(ROOT, layer) == [], f"packages: {sorted(packages(ROOT))}"


@pytest.mark.parametrize("layer", LAYERS)
def test_a_test_named_for_a_module_sits_under_its_package(layer):
    assert misplaced_tests(ROOT, layer) == {}


def test_a_test_away_from_its_package_is_found(tmp_path):
    for path in [
        "shop/__init__.py",
        "shop/orders/__init__.py",
        "shop/orders/basket.py",
        "shop/settings.py",
        "mail/settings.py",
        "mail/__init__.py",
        "docs/basket.py",
        "tests/unit/test_compose.py",
        "tests/unit/shop/test_basket.py",
        "tests/unit/shop/orders/test_basket.py",
        "tests/unit/shop/orders/test_orders.py",
        "tests/unit/shop/test_settings.py",
        "tests/unit/mail/test_settings.py",
        "tests/unit/mail/test_basket.py",
        "tests/unit/test_orders.py",
        "tests/unit/shop/payments/test_card.py",
        "tests/unit/docs/test_pages.py",
        "tests/unit/mail/__pycache__/test_settings.cpython-311.pyc",
    ]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()

    assert packages(tmp_path) == {"shop", "mail"}
    assert misplaced_tests(tmp_path, "unit") == {
        "mail/test_basket.py": ["shop/orders"],
        "test_orders.py": ["shop/orders"],
    }
    assert unmirrored_directories(tmp_path, "unit") == ["docs", "shop/payments"]
