"""Views of a response body's `usage`, one per shape an endpoint reports; `accounting.usage` sums them.

Only the fields accounting reads are declared, so msgspec skips the rest without building objects.
Provider quirks are read as data: DeepSeek reports `prompt_cache_hit_tokens`/`prompt_cache_miss_tokens`
where OpenAI reports `prompt_tokens_details.cached_tokens`.
"""

from __future__ import annotations

import msgspec

__all__ = ["ChatUsage", "Counts", "ResponsesUsage", "UsageView"]

Counts = tuple[int, int, int, int]  # input (all prompt tokens), cached input, output, reasoning


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class UsageView(msgspec.Struct):
    """A usage shape: decodes a body's `usage` object and says its counts."""

    def counts(self) -> Counts:
        raise NotImplementedError


class ChatUsage(UsageView):
    """Chat, completions, embeddings and moderations usage, with DeepSeek's cache fields."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None
    prompt_cache_hit_tokens: int | None = None  # DeepSeek
    prompt_cache_miss_tokens: int | None = None  # DeepSeek

    def counts(self) -> Counts:
        details = self.completion_tokens_details
        reasoning = details.reasoning_tokens if details is not None else None
        return self._input_tokens(), self._cached_tokens(), self.completion_tokens or 0, reasoning or 0

    def _input_tokens(self) -> int:
        if self.prompt_tokens is not None:
            return self.prompt_tokens
        return (self.prompt_cache_hit_tokens or 0) + (self.prompt_cache_miss_tokens or 0)

    def _cached_tokens(self) -> int:
        details = self.prompt_tokens_details
        if details is not None and details.cached_tokens is not None:
            return details.cached_tokens
        return self.prompt_cache_hit_tokens or 0


class ResponsesUsage(UsageView):
    """The Responses API's usage object (`/v1/responses`)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    input_tokens_details: _PromptDetails | None = None
    output_tokens_details: _CompletionDetails | None = None

    def counts(self) -> Counts:
        cached = self.input_tokens_details.cached_tokens if self.input_tokens_details is not None else None
        reasoning = self.output_tokens_details.reasoning_tokens if self.output_tokens_details is not None else None
        return self.input_tokens or 0, cached or 0, self.output_tokens or 0, reasoning or 0
