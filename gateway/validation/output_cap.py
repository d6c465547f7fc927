"""`[[models]] max_output_tokens`: a line asking for more output tokens than its model allows is refused.

The cap wraps an endpoint's measures rather than living in each of them, so the fast paths stay as they
are when no cap is configured. With a cap, a run the bulk path decoded is checked line by line (an
attribute read per line); a run holding an offending line falls back to the line-by-line path, which
names it with its exact line number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from gateway.validation.errors import ErrorCode
from gateway.validation.problems import Problem

__all__ = ["capped_measure", "capped_output_tokens", "requested_output"]

_Measure = Callable[[Any], Any]  # `endpoints.Measured` of a body; kept loose to stay out of that module


def requested_output(body: Any) -> tuple[int, str]:
    """The output tokens a body asks for (`max_completion_tokens`, else `max_tokens`; the Responses API's
    `max_output_tokens`; 0 when none), with the field that asked."""
    if limit := getattr(body, "max_completion_tokens", None):
        return int(limit), "body.max_completion_tokens"
    if limit := getattr(body, "max_output_tokens", None):
        return int(limit), "body.max_output_tokens"
    return int(getattr(body, "max_tokens", None) or 0), "body.max_tokens"


def _too_large(asked: int, param: str, cap: int) -> Problem:
    return ErrorCode.MAX_TOKENS_TOO_LARGE, f"`{param}` is {asked}; the model allows at most {cap} output tokens", param


def capped_measure(measure: _Measure, cap: int) -> _Measure:
    """`measure`, plus a `max_tokens_too_large` problem for a body asking for more than `cap`."""

    def measured(body: Any) -> Any:
        problems, *rest = measure(body)
        asked, param = requested_output(body)
        if asked > cap:
            problems = (*problems, _too_large(asked, param, cap))
        return (problems, *rest)

    return measured


def capped_output_tokens(output_tokens: Callable[[list[Any]], int], cap: int) -> Callable[[list[Any]], int]:
    """The bulk path's `output_tokens`, refusing (like a failed decode) a block with a line over `cap`."""

    def summed(lines: list[Any]) -> int:
        if any(requested_output(line.body)[0] > cap for line in lines):
            raise msgspec.ValidationError("a line asks for more output tokens than its model allows")
        return output_tokens(lines)

    return summed
