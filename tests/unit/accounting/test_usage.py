from __future__ import annotations

import msgspec

from accounting.usage import UsageAccumulator, UsageTotals
from tests.unit.accounting.lines import deepseek_line, embedding_line, error_line, expired_line, openai_line


def _totals(*lines: bytes) -> UsageTotals:
    accumulator = UsageAccumulator()
    accumulator.add_many(lines)
    return accumulator.totals()


def test_openai_lines_sum_prompt_cached_completion_and_reasoning() -> None:
    totals = _totals(openai_line(100, 20, cached=40, reasoning=5), openai_line(50, 10))
    assert totals == UsageTotals(
        input_tokens=150, cached_input_tokens=40, output_tokens=30, reasoning_tokens=5, requests_completed=2
    )


def test_deepseek_cache_hit_fields_are_the_cached_part() -> None:
    totals = _totals(deepseek_line(hit=64, miss=36, completion=7))
    assert (totals.input_tokens, totals.cached_input_tokens, totals.output_tokens) == (100, 64, 7)


def test_deepseek_input_is_hit_plus_miss_without_prompt_tokens() -> None:
    totals = _totals(deepseek_line(hit=10, miss=5, completion=1, with_prompt_tokens=False))
    assert (totals.input_tokens, totals.cached_input_tokens) == (15, 10)


def test_embeddings_have_prompt_tokens_only() -> None:
    totals = _totals(embedding_line(12), embedding_line(8))
    assert totals == UsageTotals(input_tokens=20, requests_completed=2)


def test_error_lines_fail_and_cost_nothing_unless_they_carry_usage() -> None:
    totals = _totals(
        error_line(400), expired_line(), error_line(500, usage={"prompt_tokens": 9, "completion_tokens": 1})
    )
    assert totals == UsageTotals(input_tokens=9, output_tokens=1, requests_failed=3)


def test_unreadable_line_counts_as_failed_without_usage() -> None:
    totals = _totals(b"not json", b'{"response": {"status_code": "x"}}')
    assert totals == UsageTotals(requests_failed=2)


def test_null_usage_details_are_tolerated() -> None:
    line = msgspec.json.encode(
        {
            "response": {
                "status_code": 200,
                "body": {"usage": {"prompt_tokens": 3, "completion_tokens": None, "prompt_tokens_details": None}},
            }
        }
    )
    assert _totals(line) == UsageTotals(input_tokens=3, requests_completed=1)


def test_shards_add_up() -> None:
    first = _totals(openai_line(10, 1, cached=2))
    second = _totals(openai_line(5, 2, reasoning=1), error_line())
    assert first + second == _totals(openai_line(10, 1, cached=2), openai_line(5, 2, reasoning=1), error_line())


def test_openai_usage_mapping_matches_spec_shape() -> None:
    usage = UsageTotals(input_tokens=1500, cached_input_tokens=1024, output_tokens=500, reasoning_tokens=300)
    assert msgspec.to_builtins(usage.to_openai_usage()) == {
        "input_tokens": 1500,
        "input_tokens_details": {"cached_tokens": 1024},
        "output_tokens": 500,
        "output_tokens_details": {"reasoning_tokens": 300},
        "total_tokens": 2000,
    }
