"""Token usage of a batch, summed from its result lines (openai-batch-spec §3.2).

Only `response.status_code` and `response.body.usage` are decoded, through the endpoint's usage view
(`EndpointSpec.usage`, from `gateway.validation.usage`), so a line's choices, embeddings and messages are
skipped by msgspec without building Python objects. Every shape lands in the same totals.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from gateway.validation.usage import ChatUsage, Counts, UsageView

__all__ = [
    "BatchUsage",
    "InputTokensDetails",
    "OutputTokensDetails",
    "UsageAccumulator",
    "UsageTotals",
    "body_usage",
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


@functools.cache
def _line_decoder(usage: type[UsageView]) -> msgspec.json.Decoder[Any]:
    """A decoder of a result line that reads only `response.status_code` and `response.body.usage`."""
    body = msgspec.defstruct("Body", [("usage", usage | None, None)])
    response = msgspec.defstruct("Response", [("status_code", int, 0), ("body", body | None, None)])
    return msgspec.json.Decoder(msgspec.defstruct("Line", [("response", response | None, None)]))


@functools.cache
def body_usage(usage: type[UsageView]) -> Callable[[bytes], Counts | None]:
    """Reads a response *body* (not a result line) the way `UsageAccumulator` reads the line around it:
    (input, cached input, output, reasoning), or None when it reports none."""
    decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
        msgspec.defstruct("Body", [("usage", usage | None, None)])
    )

    def counts(body: bytes) -> Counts | None:
        try:
            found = decoder.decode(body).usage
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        return None if found is None else found.counts()

    return counts


class UsageAccumulator:
    """Adds result lines (raw bytes of one output or error line) into running totals.

    A line counts as completed when its `response.status_code` is 2xx, otherwise as failed (HTTP errors,
    never-run lines with `response: null`, and lines that are not valid result JSON at all). Usage is
    added from any line that carries it, so an error line costs nothing unless it reports tokens.
    """

    __slots__ = ("_cached", "_completed", "_failed", "_input", "_line", "_output", "_reasoning")

    def __init__(self, usage: type[UsageView] = ChatUsage) -> None:
        """`usage`: the view of the endpoint's usage shape (`EndpointSpec.usage`)."""
        self._line = _line_decoder(usage)
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

    def _add_usage(self, usage: UsageView) -> None:
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
