"""The batch endpoints batchgate serves, as data: one `EndpointSpec` each (`spec.py` says what it holds).

To add an endpoint: its line types (a module like `responses.py`), one spec below, and its tests; the
registry test (`tests/unit/test_endpoint_specs.py`) runs validation, usage and the native executor over
every spec. This package imports nothing outside itself, so every layer (and the user's CLI) reads it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import msgspec

from gateway.validation.lines import (
    DEFAULT_CHAT_MAX_OUTPUT_TOKENS,
    DEFAULT_COMPLETIONS_MAX_TOKENS,
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
from gateway.validation.measures import (
    chat_lines_output,
    chat_output_tokens,
    measure_chat,
    measure_completions,
    measure_embeddings,
    plain_chat_lines_output,
)
from gateway.validation.moderations import ModerationsBody, ModerationsLine, measure_moderations
from gateway.validation.responses import ResponsesBody, ResponsesLine, measure_responses
from gateway.validation.spec import Bulk, EndpointSpec, Measured
from gateway.validation.usage import ResponsesUsage

__all__ = [
    "ALL_ENDPOINTS",
    "DEFAULT_CHAT_MAX_OUTPUT_TOKENS",
    "DEFAULT_COMPLETIONS_MAX_TOKENS",
    "ENDPOINTS",
    "OPENAI_BATCH_ENDPOINTS",
    "Bulk",
    "EndpointSpec",
    "Measured",
    "chat_output_tokens",
    "default_endpoints",
]

# Every endpoint OpenAI's Batch API accepts (the SDK's `batches.create(endpoint=...)` literal); those
# without a spec below (images, videos) are known, but no route of batchgate serves them.
OPENAI_BATCH_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)

_BOTH = frozenset({"openai_batch", "native"})
_NATIVE = frozenset({"native"})  # OpenAI's Batch API takes it; an `openai_batch` upstream serves it when listed

_SPECS = (
    EndpointSpec(
        url="/v1/chat/completions",
        line=msgspec.json.Decoder(ChatLine),
        body_type=LenientChatBody,
        measure=measure_chat,
        default_max_output_tokens=DEFAULT_CHAT_MAX_OUTPUT_TOKENS,
        prompt_fields=("messages",),
        output_limit_fields=("max_completion_tokens", "max_tokens"),
        default_for=_BOTH,
        whole_line=msgspec.json.Decoder(StrictChatLine),
        bulk=(
            Bulk(functools.partial(strict_chat_line_for, plain=True), plain_chat_lines_output),
            Bulk(strict_chat_line_for, chat_lines_output),
        ),
        checked_bulk=(Bulk(chat_line_for, chat_lines_output),),
        text_is_line=True,
    ),
    EndpointSpec(
        url="/v1/completions",
        line=msgspec.json.Decoder(CompletionsLine),
        body_type=CompletionsBody,
        measure=measure_completions,
        default_max_output_tokens=DEFAULT_COMPLETIONS_MAX_TOKENS,
        prompt_fields=("prompt", "suffix"),
        output_limit_fields=("max_tokens",),
        default_for=_BOTH,
    ),
    EndpointSpec(
        url="/v1/embeddings",
        line=msgspec.json.Decoder(EmbeddingsLine),
        body_type=EmbeddingsBody,
        measure=measure_embeddings,
        prompt_fields=("input",),
        default_for=_BOTH,
    ),
    EndpointSpec(
        url="/v1/responses",
        line=msgspec.json.Decoder(ResponsesLine),
        body_type=ResponsesBody,
        measure=functools.partial(measure_responses, default_max_output_tokens=DEFAULT_CHAT_MAX_OUTPUT_TOKENS),
        default_max_output_tokens=DEFAULT_CHAT_MAX_OUTPUT_TOKENS,
        prompt_fields=("input", "instructions", "tools"),
        output_limit_fields=("max_output_tokens",),
        usage=ResponsesUsage,
        default_for=_NATIVE,
        text_is_line=True,
    ),
    EndpointSpec(
        url="/v1/moderations",
        line=msgspec.json.Decoder(ModerationsLine),
        body_type=ModerationsBody,
        measure=measure_moderations,
        prompt_fields=("input",),
        default_for=_NATIVE,
        text_is_line=True,
    ),
)

ENDPOINTS: Mapping[str, EndpointSpec] = {spec.url: spec for spec in _SPECS}
ALL_ENDPOINTS: tuple[str, ...] = tuple(ENDPOINTS)


def default_endpoints(kind: str) -> list[str]:
    """What a provider of `kind` serves when its `endpoints` list is not given."""
    return [url for url, spec in ENDPOINTS.items() if kind in spec.default_for]
