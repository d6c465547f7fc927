"""When a run of lines may be decoded in one call, and summing its estimates.

`Decoder.decode_lines` treats newlines as mere whitespace, so it only stands in for line-by-line
decoding when each line holds exactly one value. `simple_lines` makes sure: every line starts with
`{` (so none is blank) and ends with `}` (optionally `}\\r`). A newline cannot sit inside a JSON string,
so that `}` closes an object; were it an inner one, the `{` after the newline would be a syntax error;
so every newline ends a top-level value. With as many values decoded as lines, each line holds one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.validation.endpoints import Measured

__all__ = ["measure_all", "simple_lines"]

_OPEN, _CLOSE, _CR = ord("{"), ord("}"), ord("\r")


def simple_lines(chunk: bytes, start: int, end: int) -> int:
    """How many lines chunk[start:end] (newline-terminated) holds if each is `{...}` or `{...}\r`; else -1.

    A Python loop over `find` (memchr) beats `bytes.count` of two-byte patterns several times over here.
    """
    find = chunk.find
    lines = 0
    while start < end:
        newline = find(b"\n", start, end)
        last = chunk[newline - 1]
        if chunk[start] != _OPEN or (last != _CLOSE and (last != _CR or chunk[newline - 2] != _CLOSE)):
            return -1
        lines += 1
        start = newline + 1
    return lines


def measure_all(measure: Callable[[Any], Measured], bodies: list[Any]) -> tuple[int, int, int, int] | None:
    """Summed (inputs, text bytes, tokens, max output) of good bodies; None if any has a problem."""
    inputs = text = tokens = output = 0
    for body in bodies:
        found, one_inputs, one_text, one_tokens, one_output = measure(body)
        if found:
            return None
        inputs += one_inputs
        text += one_text
        tokens += one_tokens
        output += one_output
    return inputs, text, tokens, output
