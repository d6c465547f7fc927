"""docs/code-map.md stays true: every path it names exists, and every module keeps to its layer's imports.

A line marked `<!-- verify after merge -->` names places another branch is making; its paths are checked
once the marker is gone. Imports count wherever they are written: module level, inside functions (the
CLI's lazy imports) and under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.import_graph import imports_of, project_modules

ROOT = Path(__file__).resolve().parents[2]
CODE_MAP = ROOT / "docs" / "code-map.md"
VERIFY = "verify after merge"

_PATH = re.compile(r"`([\w./<>-]+(?:\.py|\.md|/))`")
_COMMENT = re.compile(r"<!--.*?-->", flags=re.DOTALL)


def _named_paths(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if VERIFY not in line]
    return _PATH.findall(_COMMENT.sub("", "\n".join(lines)))


def _existing_part(path: str) -> str:
    """A placeholder (`providers/<kind>/`) stands for any name: what must exist is the folder above it."""
    return path.split("<", 1)[0] if "<" in path else path


def test_the_finder_reads_paths_and_skips_lines_still_to_verify() -> None:
    text = "| `a/b.py` and `c/` | `d.md` `x` `e/<kind>/`\n| `f/g.py` <!-- verify after merge -->\n<!-- `h/` -->"
    assert _named_paths(text) == ["a/b.py", "c/", "d.md", "e/<kind>/"]
    assert _existing_part("e/<kind>/") == "e/"


def test_every_named_path_exists() -> None:
    paths = _named_paths(CODE_MAP.read_text(encoding="utf-8"))
    assert len(paths) > 40  # the finder read the tables
    missing = [path for path in paths if not (ROOT / _existing_part(path)).exists()]
    assert missing == [], f"docs/code-map.md names paths that do not exist: {missing}"


# --- layers ------------------------------------------------------------------------------------------


def _layer_rows(text: str) -> list[tuple[str, list[str]]]:
    """(layer path, the third cell's paths) per row of the Layers table, in order; the cell's words
    `nothing`, `every layer listed before it` and `anything` read as they say."""
    section = text[text.index("## Layers") :]
    section = section[: section.index("\n## ", 1)]
    rows: list[tuple[str, list[str]]] = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        layer, may_import = cells[0].strip("`"), cells[2]
        allowed = _PATH.findall(may_import)
        if may_import.startswith("every layer listed before it"):
            allowed += [earlier for earlier, _ in rows]
        elif may_import == "anything":
            allowed.append("*")
        rows.append((layer, allowed))
    return rows


def _layer_of(path: str, layers: list[str]) -> str | None:
    matching = [layer for layer in layers if path == layer or (layer.endswith("/") and path.startswith(layer))]
    return max(matching, key=len, default=None)


def test_the_layer_table_reads_as_written() -> None:
    text = (
        "## Layers\n| Layer | Holds | May import |\n| --- | --- | --- |\n| `a/` | x | nothing of the project |\n"
        "| `b/` | y | `a/` (the `A` type) |\n| `c.py` | z | every layer listed before it, `d/` |\n"
        "| `d/` | w | anything |\n\n## Next\n"
    )
    assert _layer_rows(text) == [("a/", []), ("b/", ["a/"]), ("c.py", ["d/", "a/", "b/"]), ("d/", ["*"])]
    assert _layer_of("a/x/y.py", ["a/", "a/x/", "c.py"]) == "a/x/"
    assert _layer_of("c.py", ["a/", "c.py"]) == "c.py"
    assert _layer_of("e/f.py", ["a/"]) is None


def test_every_module_imports_only_what_its_layer_may() -> None:
    rows = dict(_layer_rows(CODE_MAP.read_text(encoding="utf-8")))
    assert {"gateway/core/", "gateway/validation/", "accounting/", "providers/", "gateway/cli/"} <= set(rows)
    layers = list(rows)
    modules = project_modules(ROOT)
    path_of = {name: path.relative_to(ROOT).as_posix() for name, path in modules.items()}
    problems = []
    for name, path in modules.items():
        own = _layer_of(path_of[name], layers)
        for target in imports_of(name, path, modules):
            theirs = _layer_of(path_of[target], layers)
            if own is None:
                problems.append(f"{path_of[name]} is in no layer of the map, and imports {target}")
            elif theirs != own and "*" not in rows[own] and theirs not in rows[own]:
                problems.append(f"{path_of[name]} ({own}) imports {target} ({theirs}), which its row does not allow")
    assert problems == []


def test_the_graph_reads_relative_type_checking_and_lazy_imports(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import store\ndef f():\n    import gateway.x\n"
    )
    path = tmp_path / "fencing.py"
    path.write_text(source)
    modules = {"gateway.batches.store": path, "gateway.x": path, "gateway.batches.fencing": path}
    assert set(imports_of("gateway.batches.fencing", path, modules)) == {"gateway.batches.store", "gateway.x"}
