"""Every package's `__all__` is exactly what its `__init__` brings in from the package (the
names it imports from our modules and the ones it defines), and every name in it exists: a
name added to a package is exported on purpose, and none is listed that is not there."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

import sandbox_analyst

SOURCE = Path(sandbox_analyst.__file__).parent
PACKAGES = sorted(
    ".".join(("sandbox_analyst", *init.parent.relative_to(SOURCE).parts))
    for init in SOURCE.rglob("__init__.py")
)


def defined_names(package: types.ModuleType) -> set[str]:
    """Public names the package's `__init__` binds from our own modules or defines itself
    (submodules imported for their side effects are not exports)."""
    tree = ast.parse(Path(package.__file__ or "").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
            node.level > 0 or (node.module or "").startswith("sandbox_analyst")
        ):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node in tree.body:
                names.add(node.name)
        elif isinstance(node, ast.Assign) and node in tree.body:
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {
        name
        for name in names
        if not name.startswith("_")
        and not isinstance(getattr(package, name, None), types.ModuleType)
    }


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_what_the_package_exports(name: str) -> None:
    package = importlib.import_module(name)
    listed = list(getattr(package, "__all__", []))

    assert len(listed) == len(set(listed)), f"{name}.__all__ lists a name twice"
    assert set(listed) == defined_names(package)
    for exported in listed:
        assert hasattr(package, exported), f"{name}.__all__ lists {exported!r}, which is missing"


def test_every_package_is_checked() -> None:
    assert "sandbox_analyst.service.chat" in PACKAGES
    assert "sandbox_analyst.agent.tools" in PACKAGES
    assert len(PACKAGES) >= 18
