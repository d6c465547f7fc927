"""Per-endpoint views of one input line: the fields validation checks, nothing more.

Unknown fields are ignored by msgspec (and passed through untouched upstream: we never rewrite a line).
Constraints live in the types, so one typed decode checks a whole line in C; the precise path
(`diagnose.py`) decodes the same field types one by one to name each problem. Every Struct is `gc=False`:
decoded JSON cannot form a reference cycle, and untracked objects are cheaper to create and free.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Raw, UnsetType

__all__ = [
    "DEFAULT_CHAT_MAX_OUTPUT_TOKENS",
    "DEFAULT_COMPLETIONS_MAX_TOKENS",
    "ChatBody",
    "ChatLine",
    "CompletionsBody",
    "CompletionsLine",
    "CustomId",
    "EmbeddingsBody",
    "EmbeddingsLine",
    "LenientChatBody",
    "LenientMessage",
    "Message",
    "Part",
    "StrictChatLine",
    "chat_line_for",
    "strict_chat_line_for",
]

# A chat line's output budget when it sets no limit: our planning figure (models differ; most cap a reply
# well below it).
DEFAULT_CHAT_MAX_OUTPUT_TOKENS = 4096
# A completions line's: OpenAI's documented default `max_tokens`.
DEFAULT_COMPLETIONS_MAX_TOKENS = 16

CustomId = Annotated[str, Meta(min_length=1, max_length=64)]
ModelName = Annotated[str, Meta(min_length=1)]
# Integers stay within int64, as upstream APIs parse them: a 400-digit `max_tokens` would otherwise pass and then
# overflow the exact Decimal arithmetic of the batch's cost estimate.
INT64_MAX = 2**63 - 1
PositiveInt = Annotated[int, Meta(ge=1, le=INT64_MAX)]
Int64 = Annotated[int, Meta(ge=-(2**63), le=INT64_MAX)]
Temperature = Annotated[float, Meta(ge=0, le=2)]
Probability = Annotated[float, Meta(ge=0, le=1)]
Penalty = Annotated[float, Meta(ge=-2, le=2)]
# `stream: false` and null are fine; `true` is not (Literal keeps the check in C).
NoStream = Literal[False] | None


class Part(msgspec.Struct, gc=False):
    """One content part of a chat message (`{"type": "text", "text": ...}`, `image_url`, ...)."""

    type: str
    text: str | UnsetType = UNSET


class Message(msgspec.Struct, gc=False):
    """The fast path's message: content present and not null, so no Python check runs per message."""

    role: str
    content: str | list[Part]


class LenientMessage(msgspec.Struct, gc=False):
    """The precise path's message: null or absent content, then allowed only for assistant (in Python)."""

    role: str
    content: str | list[Part] | UnsetType | None = UNSET


class _Sampling(msgspec.Struct, kw_only=True, gc=False):
    model: ModelName
    stream: NoStream = None
    max_tokens: PositiveInt | None = None
    temperature: Temperature | None = None
    top_p: Probability | None = None
    n: PositiveInt | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    seed: Int64 | None = None


class _ChatParams(_Sampling, kw_only=True):
    max_completion_tokens: PositiveInt | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None


class ChatBody(_ChatParams, kw_only=True):
    messages: Annotated[list[Message], Meta(min_length=1)]


class LenientChatBody(_ChatParams, kw_only=True):
    """What a chat body may be; lines with a null or absent content take the precise path to it."""

    messages: Annotated[list[LenientMessage], Meta(min_length=1)]


class CompletionsBody(_Sampling, kw_only=True):
    # str, list[str], token array or list of token arrays: one msgspec union cannot hold several array
    # types, so the raw JSON is kept and decoded by shape (`inputs.py`).
    prompt: Raw
    best_of: PositiveInt | None = None
    logprobs: Annotated[int, Meta(ge=0, le=5)] | None = None
    echo: bool | None = None
    suffix: str | None = None


class EmbeddingsBody(msgspec.Struct, kw_only=True, gc=False):
    model: ModelName
    input: Raw
    dimensions: PositiveInt | None = None
    encoding_format: Literal["float", "base64"] | None = None


class ChatLine(msgspec.Struct, gc=False):
    custom_id: CustomId
    method: Literal["POST"]
    url: Literal["/v1/chat/completions"]
    body: ChatBody


class CompletionsLine(msgspec.Struct, gc=False):
    custom_id: CustomId
    method: Literal["POST"]
    url: Literal["/v1/completions"]
    body: CompletionsBody


class EmbeddingsLine(msgspec.Struct, gc=False):
    custom_id: CustomId
    method: Literal["POST"]
    url: Literal["/v1/embeddings"]
    body: EmbeddingsBody


# Strict twins of the chat line: no unknown field is allowed, so a successful decode has read every string
# of the line (msgspec rejects invalid UTF-8 in each string and key it decodes; it checks nothing in the
# fields it skips). A clean line therefore needs no UTF-8 pass of its own; any other line fails here and
# takes the lenient path above, UTF-8 check included.
class _StrictPart(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    type: str
    text: str | UnsetType = UNSET


class _StrictMessage(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    role: str
    content: str | list[_StrictPart]


class _StrictChatBody(_ChatParams, kw_only=True, forbid_unknown_fields=True):
    messages: Annotated[list[_StrictMessage], Meta(min_length=1)]


class StrictChatLine(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    custom_id: CustomId
    method: Literal["POST"]
    url: Literal["/v1/chat/completions"]
    body: _StrictChatBody


class _PlainChatBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    """The bulk path's common chat body: a subset of `_StrictChatBody`'s fields, so fewer defaults to fill
    per line, and no `n` or `max_completion_tokens`: its max output is `max_tokens`, which defaults to the
    planning figure, so the bulk path sums it without a Python call per line. Lines with other fields (or
    an explicit `"max_tokens": null`) take the full type."""

    model: ModelName
    messages: Annotated[list[_StrictMessage], Meta(min_length=1)]
    max_tokens: PositiveInt = DEFAULT_CHAT_MAX_OUTPUT_TOKENS
    temperature: Temperature | None = None
    top_p: Probability | None = None


@functools.lru_cache(maxsize=16)
def strict_chat_line_for(model: str, *, plain: bool = False) -> msgspec.json.Decoder[Any]:
    """A decoder of `StrictChatLine`s whose `body.model` must be `model`: the bulk path's model check, in C."""
    pinned: Any = Literal[model]  # a Literal built at run time, from the file
    base = _PlainChatBody if plain else _StrictChatBody
    body = msgspec.defstruct(
        "PinnedChatBody", [("model", pinned)], bases=(base,), kw_only=True, forbid_unknown_fields=True
    )
    line = msgspec.defstruct("PinnedChatLine", [("body", body)], bases=(StrictChatLine,), forbid_unknown_fields=True)
    return msgspec.json.Decoder(line)


@functools.lru_cache(maxsize=16)
def chat_line_for(model: str) -> msgspec.json.Decoder[Any]:
    """A decoder of `ChatLine`s whose `body.model` must be `model`; it skips unknown fields unchecked, so
    it serves runs already checked as UTF-8 (files whose lines carry fields the strict types refuse)."""
    pinned: Any = Literal[model]
    body = msgspec.defstruct("PinnedChatBody", [("model", pinned)], bases=(ChatBody,), kw_only=True)
    return msgspec.json.Decoder(msgspec.defstruct("PinnedChatLine", [("body", body)], bases=(ChatLine,)))
