"""The house rules the folders cannot show: no import cycles, a bottom layer that imports nothing of the
project, and one way of holding Lua scripts.

Imports count wherever they are written (module level, inside functions, under `if TYPE_CHECKING:`), read
by `tests/support/import_graph.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from pathlib import Path

from tests.support.import_graph import imports_of, project_modules

ROOT = Path(__file__).resolve().parents[2]
# What only a package's `lua.py` (and the Script type in gateway/core/lua.py) may hold: a script body, or a
# way of running one other than calling a `Script`.
_RAW_LUA = re.compile(r"register_script|\.evalsha\(|\.eval\(|\.script_load\(|redis\.call\(")


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: set(imports_of(name, path, modules)) for name, path in modules.items()}


def cycles(graph: Mapping[str, Set[str]]) -> list[list[str]]:
    """The import cycles of `graph`: each strongly connected set of two or more modules, sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            members = []
            while (member := stack.pop()) != node:
                members.append(member)
            if members:
                found.append(sorted([node, *members]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_two_modules_import_each_other_even_lazily() -> None:
    assert cycles(import_graph(ROOT)) == []


def test_the_detector_finds_direct_indirect_and_type_checking_cycles(tmp_path: Path) -> None:
    package = tmp_path / "gateway" / "toy"
    package.mkdir(parents=True)
    (tmp_path / "gateway" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "records.py").write_text("from gateway.toy.wire import Wire\n")
    (package / "wire.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import records\n")
    (package / "a.py").write_text("from gateway.toy import b\n")
    (package / "b.py").write_text("def later():\n    import gateway.toy.c\n")
    (package / "c.py").write_text("from gateway.toy.a import x\n")
    (package / "leaf.py").write_text("from gateway.toy import records\n")
    found = cycles(import_graph(tmp_path))
    assert found == [
        ["gateway.toy.a", "gateway.toy.b", "gateway.toy.c"],
        ["gateway.toy.records", "gateway.toy.wire"],
    ]
    assert cycles({"x": {"y"}, "y": {"z"}, "z": set()}) == []


def test_the_bottom_layer_imports_nothing_of_the_project() -> None:
    graph = import_graph(ROOT)
    core = {name for name in graph if name.startswith("gateway.core")}
    assert {name: sorted(graph[name] - core) for name in core if graph[name] - core} == {}


def _lua_outsiders(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}: {match.group()}"
        for name, path in sorted(project_modules(root).items())
        if path.name != "lua.py"
        for match in _RAW_LUA.finditer(path.read_text(encoding="utf-8"))
    ]


def test_lua_lives_only_in_lua_modules_as_scripts() -> None:
    assert _lua_outsiders(ROOT) == []


def test_the_lua_check_sees_each_other_style(tmp_path: Path) -> None:
    package = tmp_path / "accounting"
    package.mkdir()
    (package / "lua.py").write_text("SETTLE = Script(\"redis.call('SET', KEYS[1], ARGV[1])\")\n")
    (package / "ledger.py").write_text(
        "script = redis.register_script(SOURCE)\nawait redis.evalsha(sha, 1, key)\nawait redis.eval(SOURCE, 0)\n"
        "await redis.script_load(SOURCE)\nSOURCE = \"return redis.call('GET', KEYS[1])\"\n"
    )
    found = [line.split(": ", 1)[1] for line in _lua_outsiders(tmp_path)]
    assert found == ["register_script", ".evalsha(", ".eval(", ".script_load(", "redis.call("]
