"""What one decoded body asks for: the checks a type cannot say, and its output budget (`spec.Measured`)."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import msgspec
from msgspec import UNSET

from gateway.validation.errors import ErrorCode
from gateway.validation.inputs import measure_inputs
from gateway.validation.lines import (
    DEFAULT_CHAT_MAX_OUTPUT_TOKENS,
    DEFAULT_COMPLETIONS_MAX_TOKENS,
    ChatBody,
    CompletionsBody,
    EmbeddingsBody,
    LenientChatBody,
)
from gateway.validation.problems import Problem, from_validation
from gateway.validation.spec import Measured

__all__ = [
    "chat_lines_output",
    "chat_output_tokens",
    "measure_chat",
    "measure_completions",
    "measure_embeddings",
    "plain_chat_lines_output",
]

_body, _max_tokens = attrgetter("body"), attrgetter("body.max_tokens")


def chat_output_tokens(body: ChatBody | LenientChatBody) -> int:
    limit = body.max_completion_tokens or body.max_tokens or DEFAULT_CHAT_MAX_OUTPUT_TOKENS
    return limit * (body.n or 1)


def chat_lines_output(lines: list[Any]) -> int:
    total: int = sum(map(chat_output_tokens, map(_body, lines)))
    return total


def plain_chat_lines_output(lines: list[Any]) -> int:
    """Lines of the plain type (`lines.strict_chat_line_for(plain=True)`): no `n`, no `max_completion_tokens`,
    and `max_tokens` defaults to the planning figure, so the sum needs no Python call per line."""
    total: int = sum(map(_max_tokens, lines))
    return total


def measure_chat(body: ChatBody | LenientChatBody) -> Measured:
    # Only the precise path's lenient body may hold a null or absent content; the fast path's type refuses it.
    problems = _null_contents(body) if isinstance(body, LenientChatBody) else ()
    return problems, 0, 0, 0, chat_output_tokens(body)


def _null_contents(body: LenientChatBody) -> tuple[Problem, ...]:
    return tuple(
        _null_content(index)
        for index, message in enumerate(body.messages)
        if (message.content is None or message.content is UNSET) and message.role != "assistant"
    )


def _null_content(index: int) -> Problem:
    param = f"body.messages[{index}].content"
    return ErrorCode.INVALID_VALUE, f"`{param}` may be null or absent only for assistant messages", param


def measure_completions(body: CompletionsBody) -> Measured:
    try:
        _, text, tokens = measure_inputs(body.prompt)
    except msgspec.ValidationError as exc:
        return (from_validation("body.prompt", exc),), 0, 0, 0, 0
    limit = body.max_tokens or DEFAULT_COMPLETIONS_MAX_TOKENS
    return (), 0, text, tokens, limit * max(body.n or 1, body.best_of or 1)


def measure_embeddings(body: EmbeddingsBody) -> Measured:
    try:
        inputs, text, tokens = measure_inputs(body.input)
    except msgspec.ValidationError as exc:
        return (from_validation("body.input", exc),), 0, 0, 0, 0
    return (), inputs, text, tokens, 0
