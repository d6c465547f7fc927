"""README.md and docs/*.md stay true: every code block is named for the test that runs it, every relative
link reaches a file (and a heading), and the validation error codes table lists every code."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from gateway.validation import ERROR_CODES
from tests.support.doc_snippets import CODE_LANGUAGES, ROOT, RUNNERS, all_blocks, doc_files

_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
_HEADING = re.compile(r"^#+ (?P<title>.+)$", flags=re.MULTILINE)


def test_every_code_block_is_named_for_its_runner() -> None:
    blocks = all_blocks()
    for block in blocks:
        assert block.language in CODE_LANGUAGES | {"", "text"}, f"{block}: a language the tests do not know"
        if block.language in CODE_LANGUAGES:
            assert block.name in RUNNERS, f"{block}: add <!-- snippet: NAME --> naming its test (doc_snippets.py)"
        else:
            assert block.name is None, f"{block}: a text block is never run; drop its snippet name"
        assert (block.language == "toml") == (block.name == "config"), f"{block}: TOML blocks are the configs"
    counts = Counter(block.name for block in blocks)
    for name in ("sdk-quickstart", "cli-quickstart", "accounting-cli", "webhook-receiver", "setup"):
        assert counts[name] == 1, f"expected one {name!r} block, found {counts[name]}"
    assert counts["config"] >= 2


@pytest.mark.parametrize("path", doc_files(), ids=lambda path: path.name)
def test_every_fence_is_paired_with_a_block(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fences = sum(1 for line in text.splitlines() if line.startswith("```"))
    assert fences == 2 * sum(1 for block in all_blocks() if block.path == path)


def _anchor(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("path", doc_files(), ids=lambda path: path.name)
def test_relative_links_reach_a_file_and_heading(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for match in _LINK.finditer(text):
        target = match["target"]
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{path.relative_to(ROOT)}: link to {target} reaches nothing"
        if anchor:
            titles = _HEADING.findall(linked.read_text(encoding="utf-8"))
            assert anchor in {_anchor(title) for title in titles}, f"{path.relative_to(ROOT)}: no heading #{anchor}"


def test_the_error_codes_table_lists_every_validation_code() -> None:
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    table = api[api.index("## Validation rules and error codes") :]
    documented = set(re.findall(r"^\| `(\w+)`(?: / `(\w+)`)?", table, flags=re.MULTILINE))
    codes = {code for pair in documented for code in pair if code}
    assert set(ERROR_CODES) <= codes, f"undocumented: {sorted(set(ERROR_CODES) - codes)}"
