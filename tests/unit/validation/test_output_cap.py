"""`[[models]] max_output_tokens`: the exact line asking for more is refused, on every validation path."""

from __future__ import annotations

import pytest

from gateway.validation import Validator
from tests.unit.validation.builders import CHAT, COMPLETIONS, EMBEDDINGS, jsonl, request


def _errors(
    endpoint: str, data: bytes, cap: int | None, chunk: int = 1 << 20
) -> list[tuple[str, int | None, str | None]]:
    validator = Validator(endpoint, output_cap=lambda model: cap if model == "m" else None)
    for start in range(0, len(data), chunk):
        validator.feed(data[start : start + chunk])
    return [(e.code, e.line, e.param) for e in validator.finish().errors]


@pytest.mark.parametrize("chunk", [1 << 20, 4096, 977])  # whole-file runs (bulk), small runs, lines split across
def test_the_offending_lines_are_named_among_thousands(chunk: int) -> None:
    lines = [request(CHAT, f"r{i}", max_tokens=8192) for i in range(3000)]
    lines[1776] = request(CHAT, "r1776", max_tokens=9000)
    lines[2500] = request(CHAT, "r2500", max_completion_tokens=100_000)
    found = _errors(CHAT, jsonl(*lines), 8192, chunk)
    assert found == [
        ("max_tokens_too_large", 1777, "body.max_tokens"),
        ("max_tokens_too_large", 2501, "body.max_completion_tokens"),
    ]


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    within = request(CHAT, "a", max_tokens=10**30 // 10**20, max_completion_tokens=100)
    assert _errors(CHAT, jsonl(within), 8192) == []


def test_completions_are_capped_and_embeddings_have_nothing_to_cap() -> None:
    assert _errors(COMPLETIONS, jsonl(request(COMPLETIONS, "a", max_tokens=20)), 16) == [
        ("max_tokens_too_large", 1, "body.max_tokens")
    ]
    assert _errors(EMBEDDINGS, jsonl(request(EMBEDDINGS, "a")), 1) == []


def test_responses_are_capped_by_max_output_tokens() -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/responses",
            "body": {"model": "m", "input": "hi", "max_output_tokens": 9000}}  # fmt: skip
    assert _errors("/v1/responses", jsonl(line), 8192) == [("max_tokens_too_large", 1, "body.max_output_tokens")]


def test_no_cap_accepts_any_positive_max_tokens() -> None:
    assert _errors(CHAT, jsonl(request(CHAT, "a", max_tokens=10**8)), None) == []


def test_the_message_names_the_request_and_the_cap() -> None:
    validator = Validator(CHAT, output_cap=lambda _: 8192)
    validator.feed(jsonl(request(CHAT, "a", max_tokens=100_000_000)))
    (error,) = validator.finish().errors
    assert error.message == "`body.max_tokens` is 100000000; the model allows at most 8192 output tokens"
