"""What each batch endpoint accepts: its line decoder and the checks and estimates a type cannot say.

These are the validation half of each endpoint; its facts (provider kinds, default output budget,
usage shape, the executor's token estimate) are its `providers.endpoints.EndpointSpec`, under the
same URL (a unit test keeps the two registries in step).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, NamedTuple

import msgspec
from msgspec import UNSET

from gateway.validation.errors import ErrorCode
from gateway.validation.inputs import measure_inputs
from gateway.validation.lines import (
    DEFAULT_CHAT_MAX_OUTPUT_TOKENS,
    ChatBody,
    ChatLine,
    CompletionsBody,
    CompletionsLine,
    EmbeddingsBody,
    EmbeddingsLine,
    LenientChatBody,
    StrictChatLine,
    chat_line_for,
    strict_chat_line_for,
)
from gateway.validation.moderations import ModerationsBody, ModerationsLine, measure_moderations
from gateway.validation.problems import Problem, from_validation
from gateway.validation.responses import ResponsesBody, ResponsesLine, measure_responses
from providers.endpoints import ENDPOINTS as SPECS

__all__ = [
    "DEFAULT_CHAT_MAX_OUTPUT_TOKENS",
    "DEFAULT_COMPLETIONS_MAX_TOKENS",
    "ENDPOINTS",
    "Bulk",
    "LineRules",
    "Measured",
    "chat_output_tokens",
]

_body, _max_tokens = attrgetter("body"), attrgetter("body.max_tokens")

# Output budget per line when the line sets no limit (`providers.endpoints`). Chat:
# `lines.DEFAULT_CHAT_MAX_OUTPUT_TOKENS`. Completions: OpenAI's documented default `max_tokens` of 16.
DEFAULT_COMPLETIONS_MAX_TOKENS = SPECS["/v1/completions"].default_max_output_tokens

# (problems, embedding inputs, UTF-8 bytes of text, token ids, max output tokens) for one line's body.
Measured = tuple[tuple[Problem, ...], int, int, int, int]


class Bulk(NamedTuple):
    decoder_for: Callable[[str], msgspec.json.Decoder[Any]]  # `whole_line`, pinned to the file's model
    output_tokens: Callable[[list[Any]], int]  # of a list of decoded lines


@dataclass(frozen=True, slots=True)
class LineRules:
    url: str
    line: msgspec.json.Decoder[Any]  # the fast path: one typed decode of a whole line
    body_type: type[msgspec.Struct]  # the precise path decodes what a body may be, field by field
    measure: Callable[[Any], Measured]
    # Optional: a decoder that reads every byte of the lines it accepts (no unknown fields, no Raw), so
    # its success proves a run valid UTF-8 and the splitter may skip that check (see `lines.StrictChatLine`).
    whole_line: msgspec.json.Decoder[Any] | None = None
    # Optional, with `whole_line`: the bulk path (`bulk.py`), in variants tried fastest first.
    bulk: tuple[Bulk, ...] = ()
    # Optional: the bulk path for runs the splitter has checked as UTF-8 (unknown fields skipped).
    checked_bulk: tuple[Bulk, ...] = ()
    # The estimate's text bytes are each request line's own bytes (chat; see `report.ValidationReport`).
    text_is_line: bool = False


def chat_output_tokens(body: ChatBody | LenientChatBody) -> int:
    limit = body.max_completion_tokens or body.max_tokens or DEFAULT_CHAT_MAX_OUTPUT_TOKENS
    return limit * (body.n or 1)


def _chat_lines_output(lines: list[Any]) -> int:
    total: int = sum(map(chat_output_tokens, map(_body, lines)))
    return total


def _plain_chat_lines_output(lines: list[Any]) -> int:
    """Lines of the plain type (`lines.strict_chat_line_for(plain=True)`): no `n`, no `max_completion_tokens`,
    and `max_tokens` defaults to the planning figure, so the sum needs no Python call per line."""
    total: int = sum(map(_max_tokens, lines))
    return total


def _measure_chat(body: ChatBody | LenientChatBody) -> Measured:
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


def _measure_completions(body: CompletionsBody) -> Measured:
    try:
        _, text, tokens = measure_inputs(body.prompt)
    except msgspec.ValidationError as exc:
        return (from_validation("body.prompt", exc),), 0, 0, 0, 0
    limit = body.max_tokens or DEFAULT_COMPLETIONS_MAX_TOKENS
    return (), 0, text, tokens, limit * max(body.n or 1, body.best_of or 1)


def _measure_embeddings(body: EmbeddingsBody) -> Measured:
    try:
        inputs, text, tokens = measure_inputs(body.input)
    except msgspec.ValidationError as exc:
        return (from_validation("body.input", exc),), 0, 0, 0, 0
    return (), inputs, text, tokens, 0


ENDPOINTS: dict[str, LineRules] = {
    "/v1/chat/completions": LineRules(
        "/v1/chat/completions",
        msgspec.json.Decoder(ChatLine),
        LenientChatBody,
        _measure_chat,
        whole_line=msgspec.json.Decoder(StrictChatLine),
        bulk=(
            Bulk(functools.partial(strict_chat_line_for, plain=True), _plain_chat_lines_output),
            Bulk(strict_chat_line_for, _chat_lines_output),
        ),
        checked_bulk=(Bulk(chat_line_for, _chat_lines_output),),
        text_is_line=True,
    ),
    "/v1/completions": LineRules(
        "/v1/completions", msgspec.json.Decoder(CompletionsLine), CompletionsBody, _measure_completions
    ),
    "/v1/embeddings": LineRules(
        "/v1/embeddings", msgspec.json.Decoder(EmbeddingsLine), EmbeddingsBody, _measure_embeddings
    ),
    "/v1/responses": LineRules(
        "/v1/responses",
        msgspec.json.Decoder(ResponsesLine),
        ResponsesBody,
        functools.partial(
            measure_responses, default_max_output_tokens=SPECS["/v1/responses"].default_max_output_tokens
        ),
        text_is_line=True,
    ),
    "/v1/moderations": LineRules(
        "/v1/moderations",
        msgspec.json.Decoder(ModerationsLine),
        ModerationsBody,
        measure_moderations,
        text_is_line=True,
    ),
}
