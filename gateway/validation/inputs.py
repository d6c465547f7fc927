"""Completions `prompt` and embeddings `input`: a string, strings, a token array, or token arrays.

msgspec unions hold one array type at most, so the field arrives as raw JSON; its first bytes say
which shape it claims, and one typed decode of that shape checks it in C (a mixed array fails there).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

__all__ = ["TextSize", "measure_inputs", "utf8_len"]

TokenId = Annotated[int, Meta(ge=0)]
TokenArray = Annotated[list[TokenId], Meta(min_length=1)]
_TEXT = msgspec.json.Decoder(str)
_TEXTS = msgspec.json.Decoder(Annotated[list[str], Meta(min_length=1)])
_TOKENS = msgspec.json.Decoder(TokenArray)
_TOKEN_ARRAYS = msgspec.json.Decoder(Annotated[list[TokenArray], Meta(min_length=1)])
_QUOTE, _OPEN, _CLOSE = ord('"'), ord("["), ord("]")
_WHITESPACE = frozenset(b" \t\r\n")
_TOKEN_FILLER = b"0123456789 \t\r\n"  # what a flat array of non-negative ints holds besides its commas
_KINDS = {ord("{"): "object", ord("t"): "bool", ord("f"): "bool", ord("n"): "null"}
_SHAPES = "a string, an array of strings, an array of token ids or an array of token-id arrays"

# (inputs, UTF-8 bytes of text, token ids): what one prompt or input field contributes to the estimates.
TextSize = tuple[int, int, int]


def utf8_len(text: str) -> int:
    """UTF-8 length without encoding ASCII text (`isascii` is O(1) on CPython's compact strings)."""
    return len(text) if text.isascii() else len(text.encode())


def measure_inputs(raw: msgspec.Raw) -> TextSize:
    """Check the shape of a prompt/input field; raise msgspec.ValidationError (path relative) if wrong."""
    view = memoryview(raw)
    if view[0] == _QUOTE:
        return 1, utf8_len(_TEXT.decode(view)), 0
    if view[0] != _OPEN:
        raise msgspec.ValidationError(f"Expected {_SHAPES}, got `{_KINDS.get(view[0], 'number')}`")
    claimed = _first_item_byte(view)
    if claimed == _QUOTE or claimed not in b"-0123456789[]":
        texts = _TEXTS.decode(view)  # anything but strings fails here with a precise path
        return len(texts), sum(map(utf8_len, texts)), 0
    if claimed == _OPEN:
        arrays = _TOKEN_ARRAYS.decode(view)
        return len(arrays), 0, sum(map(len, arrays))
    if claimed == _CLOSE:
        raise msgspec.ValidationError(f"Expected a non-empty array: {_SHAPES}")
    return 1, 0, _count_tokens(view)


def _count_tokens(view: memoryview) -> int:
    """A flat token array, without building an int per token (the costly part of decoding one).

    The line's decode already proved this is valid JSON; a valid JSON array whose inside holds only
    digits, commas and whitespace is an array of non-negative integers, one more than its commas.
    Anything else takes the typed decode, which also words the error.
    """
    # One pass in C: dropping digits and whitespace leaves `[`, the commas and `]` of such an array.
    commas = bytes(view).translate(None, _TOKEN_FILLER)
    if commas == b"[" + b"," * (len(commas) - 2) + b"]":  # non-empty: it starts with a digit
        return len(commas) - 1
    return len(_TOKENS.decode(view))


def _first_item_byte(view: memoryview) -> int:
    first = view[1]  # the common case, `[` right before the first item, without a loop
    if first not in _WHITESPACE:
        return first
    for index in range(2, len(view)):
        if view[index] not in _WHITESPACE:
            return int(view[index])
    return _CLOSE
