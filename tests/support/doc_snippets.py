"""The code blocks of README.md and docs/*.md, each with the snippet name its `<!-- snippet: NAME -->` gives.

A block's name says which test runs it (docs/development.md lists them), so a block keeps running wherever
in the docs it moves. `tests/unit/test_docs.py` checks that every code block carries a known name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Languages of blocks that are code; a block without a language (a diagram, a formula) is text.
CODE_LANGUAGES = frozenset({"bash", "sh", "shell", "console", "python", "py", "toml", "json", "yaml"})
# Snippet names, and the test that runs blocks of that name (or why none does).
RUNNERS = {
    "config": "tests/e2e/test_readme.py::test_config_examples_load",
    "sdk-quickstart": "tests/e2e/test_readme.py::test_sdk_quickstart_runs",
    "cli-quickstart": "tests/e2e/test_readme.py::test_cli_quickstart_runs",
    "accounting-cli": "tests/e2e/test_readme.py::test_cli_quickstart_runs",
    "webhook-receiver": "tests/e2e/test_webhooks_readme.py::test_the_readme_receiver_verifies_events",
    "setup": "not run: `make run` and `make test` are what start the suite",
}

_BLOCK = re.compile(
    r"^(?:<!-- snippet: (?P<name>[a-z-]+) -->\n)?```(?P<language>[\w-]*)\n(?P<text>.*?)^```[ \t]*$",
    flags=re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int
    language: str
    name: str | None
    text: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} ({self.language or 'text'}, {self.name or 'unnamed'})"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def all_blocks() -> list[Snippet]:
    found = []
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            fence = match.start("language") - 3
            found.append(
                Snippet(
                    path=path,
                    line=text.count("\n", 0, fence) + 1,
                    language=match["language"],
                    name=match["name"],
                    text=match["text"],
                )
            )
    return found


def snippets(name: str) -> list[Snippet]:
    """Every block named `name`, in README-then-docs order."""
    assert name in RUNNERS, f"unknown snippet name {name!r}"
    return [snippet for snippet in all_blocks() if snippet.name == name]


def the_snippet(name: str) -> Snippet:
    [snippet] = snippets(name)
    return snippet
