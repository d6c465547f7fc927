"""The fast path for a run of whole lines: decode each line, keep only its custom_id and estimates.

Each line is decoded on its own (the same call the line-by-line path makes, so a blank line, a BOM or
two values on one line fail here exactly as they would there), and its decoded object is dropped before
the next line is decoded: the freed memory of one line's strings is reused, still in cache, by the next
line's, where one `Decoder.decode_lines` call per chunk keeps a whole chunk's strings alive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from gateway.validation.endpoints import Measured

__all__ = ["Run", "decode_run"]

# (custom_ids in line order, embedding inputs, text bytes, token ids, max output tokens) of a clean run.
Run = tuple[list[str], int, int, int, int]


def decode_run(
    decode: Callable[[memoryview], Any],
    measure: Callable[[Any], Measured],
    model: str | None,
    chunk: bytes,
    start: int,
    end: int,
) -> Run | None:
    """The lines of chunk[start:end] (each newline-terminated) if every one decodes, names `model` and
    has no measured problem; else None, and the caller takes them line by line to name what is wrong.
    """
    find, view = chunk.find, memoryview(chunk)
    ids: list[str] = []
    inputs = text = tokens = output = 0
    try:
        while start < end:
            newline = find(b"\n", start, end)
            one = decode(view[start:newline])
            start = newline + 1
            body = one.body
            if body.model != model:
                return None
            found, one_inputs, one_text, one_tokens, one_output = measure(body)
            if found:
                return None
            ids.append(one.custom_id)
            inputs += one_inputs
            text += one_text
            tokens += one_tokens
            output += one_output
    # UnicodeDecodeError: a strict decode; RecursionError: a line nested too deeply, which the line-by-line
    # path names (catching it here, not scanning every line's depth first, keeps the clean path free).
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
        return None
    return ids, inputs, text, tokens, output
