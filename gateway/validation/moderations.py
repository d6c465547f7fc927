"""`/v1/moderations` lines: `input` is a string, a list of strings, or a list of multimodal parts
(`{"type": "text", "text": ...}`, `{"type": "image_url", "image_url": {"url": ...}}`)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Raw

from gateway.validation.lines import CustomId, ModelName
from gateway.validation.problems import Problem, from_validation

__all__ = ["ModerationsBody", "ModerationsLine", "measure_moderations"]


class ModerationsBody(msgspec.Struct, kw_only=True, gc=False):
    model: ModelName  # optional for OpenAI's real-time API; a batch is routed by it
    # One msgspec union cannot hold a list of strings and a list of parts: the shape is read in `measure`.
    input: Raw


class ModerationsLine(msgspec.Struct, gc=False):
    custom_id: CustomId
    method: Literal["POST"]
    url: Literal["/v1/moderations"]
    body: ModerationsBody


class _ImageUrl(msgspec.Struct, gc=False):
    url: str


class _TextPart(msgspec.Struct, tag="text", tag_field="type", gc=False):
    text: str


class _ImagePart(msgspec.Struct, tag="image_url", tag_field="type", gc=False):
    image_url: _ImageUrl


_KINDS = {b"{": "object", b"t": "bool", b"f": "bool", b"n": "null"}
_TEXT = msgspec.json.Decoder(str)
_TEXTS = msgspec.json.Decoder(Annotated[list[str], Meta(min_length=1)])
_PARTS = msgspec.json.Decoder(Annotated[list[_TextPart | _ImagePart], Meta(min_length=1)])


def measure_moderations(body: ModerationsBody) -> tuple[tuple[Problem, ...], int, int, int, int]:
    """The shape of `input`; no output tokens (the input estimate is the line's own bytes)."""
    try:
        _check_input(bytes(body.input))
    except msgspec.ValidationError as exc:
        return (from_validation("body.input", exc),), 0, 0, 0, 0
    return (), 0, 0, 0, 0


def _check_input(raw: bytes) -> None:
    """Raise msgspec.ValidationError (path relative) when the input's shape is wrong."""
    if raw[:1] == b'"':
        _TEXT.decode(raw)
    elif raw[:1] == b"[" and raw[1:].lstrip()[:1] == b"{":
        _PARTS.decode(raw)
    elif raw[:1] == b"[":
        _TEXTS.decode(raw)
    else:
        kind = _KINDS.get(raw[:1], "number")
        raise msgspec.ValidationError(f"Expected a string, an array of strings or of input parts, got `{kind}`")
