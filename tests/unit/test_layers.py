"""The layers of docs/code-map.md, checked on the imports themselves: a lower layer never imports a higher one."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("gateway", "providers", "accounting")

# package -> the project packages its modules may import (besides themselves)
ALLOWED: dict[str, tuple[str, ...]] = {
    "gateway.core": (),
    "gateway.validation": (),
    "accounting": ("gateway.core", "gateway.validation"),
    "providers": ("gateway.core", "gateway.validation", "accounting"),
    "gateway.redis": ("gateway.core",),
}


def _modules(package: str) -> Iterator[tuple[Path, str]]:
    folder = ROOT.joinpath(*package.split("."))
    for path in sorted(folder.rglob("*.py")):
        yield path, ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _project_imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] in PROJECT)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(package: str) -> None:
    allowed = (package, *ALLOWED[package])
    offending = [
        f"{module} imports {name}"
        for path, module in _modules(package)
        for name in _project_imports(path)
        if not any(_within(name, layer) for layer in allowed)
    ]
    assert offending == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from gateway.services import Services\nimport accounting.ledger\n")
    assert list(_project_imports(module)) == ["gateway.services", "accounting.ledger"]
