"""Token usage of a batch, summed from its result lines (openai-batch-spec §3.2).

Only `response.status_code` and `response.body.usage` are decoded, through small view Structs, so a
line's choices, embeddings and messages are skipped by msgspec without building Python objects.
Provider quirks are read as data: DeepSeek reports `prompt_cache_hit_tokens`/`prompt_cache_miss_tokens`
where OpenAI reports `prompt_tokens_details.cached_tokens`. Each endpoint names the usage shape its
responses carry (`providers.endpoints.EndpointSpec.usage`): chat names, or the Responses API's
(`input_tokens`, `input_tokens_details.cached_tokens`, `output_tokens`,
`output_tokens_details.reasoning_tokens`); both land in the same totals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

__all__ = [
    "BODY_USAGE",
    "USAGE_SHAPES",
    "BatchUsage",
    "InputTokensDetails",
    "OutputTokensDetails",
    "UsageAccumulator",
    "UsageTotals",
]


class InputTokensDetails(msgspec.Struct, frozen=True, kw_only=True):
    cached_tokens: int = 0


class OutputTokensDetails(msgspec.Struct, frozen=True, kw_only=True):
    reasoning_tokens: int = 0


class BatchUsage(msgspec.Struct, frozen=True, kw_only=True):
    """The Batch object's `usage` (openai-batch-spec §2.1): Responses-API names even for chat batches
    (Σ prompt → input, Σ completion → output), all five keys present on the wire."""

    input_tokens: int = 0
    input_tokens_details: InputTokensDetails = msgspec.field(default_factory=InputTokensDetails)
    output_tokens: int = 0
    output_tokens_details: OutputTokensDetails = msgspec.field(default_factory=OutputTokensDetails)
    total_tokens: int = 0


class UsageTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Summed usage of a batch. `input_tokens` counts all prompt tokens, `cached_input_tokens` the cached part."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    requests_completed: int = 0
    requests_failed: int = 0

    def __add__(self, other: UsageTotals) -> UsageTotals:
        """Combine the usage of two shards of one batch."""
        return UsageTotals(**{name: getattr(self, name) + getattr(other, name) for name in self.__struct_fields__})

    def to_openai_usage(self) -> BatchUsage:
        return BatchUsage(
            input_tokens=self.input_tokens,
            input_tokens_details=InputTokensDetails(cached_tokens=self.cached_input_tokens),
            output_tokens=self.output_tokens,
            output_tokens_details=OutputTokensDetails(reasoning_tokens=self.reasoning_tokens),
            total_tokens=self.input_tokens + self.output_tokens,
        )


# --- views of one result line: only what accounting reads -------------------------------------------------


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


_Counts = tuple[int, int, int, int]  # input (all prompt tokens), cached input, output, reasoning


class _Usage(msgspec.Struct):
    """Chat, completions and embeddings usage, with DeepSeek's cache fields."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None
    prompt_cache_hit_tokens: int | None = None  # DeepSeek
    prompt_cache_miss_tokens: int | None = None  # DeepSeek

    def counts(self) -> _Counts:
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


class _ResponsesUsage(msgspec.Struct):
    """The Responses API's usage object (`/v1/responses`)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    input_tokens_details: _PromptDetails | None = None
    output_tokens_details: _CompletionDetails | None = None

    def counts(self) -> _Counts:
        cached = self.input_tokens_details.cached_tokens if self.input_tokens_details is not None else None
        reasoning = self.output_tokens_details.reasoning_tokens if self.output_tokens_details is not None else None
        return self.input_tokens or 0, cached or 0, self.output_tokens or 0, reasoning or 0


def _line_decoder(usage: type[_Usage | _ResponsesUsage]) -> msgspec.json.Decoder[Any]:
    """A decoder of a result line that reads only `response.status_code` and `response.body.usage`."""
    body = msgspec.defstruct("Body", [("usage", usage | None, None)])
    response = msgspec.defstruct("Response", [("status_code", int, 0), ("body", body | None, None)])
    return msgspec.json.Decoder(msgspec.defstruct("Line", [("response", response | None, None)]))


# One line decoder per usage shape (`providers.endpoints.UsageShape` names them).
USAGE_SHAPES: dict[str, msgspec.json.Decoder[Any]] = {
    "chat": _line_decoder(_Usage),
    "responses": _line_decoder(_ResponsesUsage),
}


def _body_reader(usage: type[_Usage | _ResponsesUsage]) -> Callable[[bytes], _Counts | None]:
    """Reads a response *body* (not a result line) the way `UsageAccumulator` reads the line around it."""
    decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
        msgspec.defstruct("Body", [("usage", usage | None, None)])
    )

    def counts(body: bytes) -> _Counts | None:
        try:
            found = decoder.decode(body).usage
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        return None if found is None else found.counts()

    return counts


# Per usage shape: a response body's (input, cached input, output, reasoning), or None when it reports none.
BODY_USAGE: dict[str, Callable[[bytes], _Counts | None]] = {
    "chat": _body_reader(_Usage),
    "responses": _body_reader(_ResponsesUsage),
}


class UsageAccumulator:
    """Adds result lines (raw bytes of one output or error line) into running totals.

    A line counts as completed when its `response.status_code` is 2xx, otherwise as failed (HTTP errors,
    never-run lines with `response: null`, and lines that are not valid result JSON at all). Usage is
    added from any line that carries it, so an error line costs nothing unless it reports tokens.
    """

    __slots__ = ("_cached", "_completed", "_failed", "_input", "_line", "_output", "_reasoning")

    def __init__(self, shape: str = "chat") -> None:
        self._line = USAGE_SHAPES[shape]
        self._input = self._cached = self._output = self._reasoning = 0
        self._completed = self._failed = 0

    def add(self, line: bytes) -> None:
        try:
            response = self._line.decode(line).response
        except (msgspec.DecodeError, msgspec.ValidationError):
            # A line we cannot read still answered a request; it is a failure with no billable usage.
            self._failed += 1
            return
        if response is not None and 200 <= response.status_code < 300:
            self._completed += 1
        else:
            self._failed += 1
        usage = None if response is None or response.body is None else response.body.usage
        if usage is not None:
            self._add_usage(usage)

    def add_many(self, lines: Iterable[bytes]) -> None:
        for line in lines:
            self.add(line)

    def _add_usage(self, usage: _Usage | _ResponsesUsage) -> None:
        input_tokens, cached, output, reasoning = usage.counts()
        self._input += input_tokens
        self._cached += cached
        self._output += output
        self._reasoning += reasoning

    def totals(self) -> UsageTotals:
        return UsageTotals(
            input_tokens=self._input,
            cached_input_tokens=self._cached,
            output_tokens=self._output,
            reasoning_tokens=self._reasoning,
            requests_completed=self._completed,
            requests_failed=self._failed,
        )
