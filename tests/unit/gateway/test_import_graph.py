"""The gateway's modules import one another without a cycle, lazy imports included.

A cycle works only while each module happens to be imported first from the
right side; a function-level import that hides one is counted here too.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.processes import ROOT

PACKAGE = "gateway"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The gateway modules `name` imports, wherever in the file the import stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            # `from gateway import store` imports the module gateway.store.
            found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return {module for module in found if module in known and module != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules on it, or None."""
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        trail.append(module)
        for imported in sorted(edges[module]):
            if state.get(imported) == "open":
                return [*trail[trail.index(imported) :], imported]
            if imported not in state and (found := visit(imported)) is not None:
                return found
        state[module] = "done"
        trail.pop()
        return None

    for module in sorted(edges):
        if module not in state and (found := visit(module)) is not None:
            return found
    return None


def test_the_check_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_gateway_has_no_import_cycle():
    edges = graph()
    assert "gateway.tables" in edges["gateway.database"]  # the graph sees what it should
    assert cycle(edges) is None


def importable() -> list[str]:
    """Every module but the scripts: Alembic runs env.py and the revisions, and __main__ starts a server."""
    return [name for name in sorted(modules()) if not name.startswith("gateway.migrations.") and "__main__" not in name]


@pytest.mark.parametrize("first", ["gateway.store", "gateway.migrations", "gateway.tables", "gateway.intake"])
def test_any_gateway_module_imports_first_in_a_fresh_interpreter(first):
    everything = importable()
    script = "import importlib\n" + "".join(f"importlib.import_module({name!r})\n" for name in [first, *everything])
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, timeout=120)
