"""Hypothesis strategies for validator input: any bytes, and JSONL lines that are close to valid.

Near-valid lines start from a correct request for the endpoint and then get one of: a key dropped, a value
swapped for an odd JSON value, a nasty string or number spliced in, or a few bytes of the encoded line
flipped, cut or duplicated. That keeps most inputs deep inside the validator instead of at the first byte.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st

__all__ = ["ENDPOINTS", "any_bytes", "jsonl_files"]

CHAT, COMPLETIONS, EMBEDDINGS = "/v1/chat/completions", "/v1/completions", "/v1/embeddings"
ENDPOINTS = st.sampled_from([CHAT, COMPLETIONS, EMBEDDINGS])

NASTY_TEXT = st.sampled_from(
    ["", "\x00", "\\ud800", "é", "\u2028", "\ufeff", "𝔘", "a" * 70, "x" * 5000, '"', "\\", "\r", "\n"]
)
NASTY_NUMBER = st.sampled_from([0, -1, 2**63, -(2**63) - 1, 2**70, 1e308, -0.0, 1.5, 10**40])
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8) | NASTY_TEXT
JSON = st.recursive(
    SCALAR | NASTY_NUMBER,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
# Raw fragments spliced into an encoded line: numbers and escapes msgspec must reject or bound.
RAW_SPLICES = st.sampled_from(
    [b"1e400", b"-", b"NaN", b"\\u", b'"\\ud800"', b"{", b"}", b"[", b"]", b",", b"\x00", b"\xff", b"\r", b"\n\n"]
)


def _request(endpoint: str, custom_id: str, model: str) -> dict[str, Any]:
    if endpoint == CHAT:
        body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5}
    elif endpoint == COMPLETIONS:
        body = {"model": model, "prompt": "Say this", "max_tokens": 7, "n": 2, "best_of": 3}
    else:
        body = {"model": model, "input": ["a", [1, 2, 3]]}
    return {"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body}


# Strategies are built once here: building them inside a composite on every draw costs more than the draw.
_CUSTOM_IDS = st.sampled_from(["r", "dup", "x" * 65, ""])
_MODELS = st.sampled_from("mn")
_ACTIONS = st.sampled_from(["keep", "drop", "swap", "add"])
_EXTRA_KEYS = st.sampled_from(
    ["temperature", "n", "stream", "max_completion_tokens", "dimensions", "encoding_format", "z"]
)
_MUTATIONS = st.lists(st.tuples(st.sampled_from(["splice", "cut", "flip", "dup"]), st.integers(0, 1 << 16)), max_size=2)
_SMALL = st.integers(0, 7)
_ENDINGS = st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n"])
_TAILS = st.sampled_from([b"", b"\n", b"\n\n\n", b" "])


def _tweaked(draw: st.DrawFn, endpoint: str, index: int) -> dict[str, Any]:
    custom_id = draw(_CUSTOM_IDS)
    line = _request(endpoint, f"{custom_id}{index}" if custom_id == "r" else custom_id, draw(_MODELS))
    target: dict[str, Any] = line if draw(st.booleans()) else line["body"]
    action = draw(_ACTIONS)
    keys = sorted(target)
    key = keys[draw(_SMALL) % len(keys)]
    if action == "drop":
        del target[key]
    elif action == "swap":
        target[key] = draw(JSON)
    elif action == "add":
        target[draw(_EXTRA_KEYS)] = draw(JSON)
    return line


def _encoded_line(draw: st.DrawFn, endpoint: str, index: int) -> bytes:
    data = bytearray(msgspec.json.encode(_tweaked(draw, endpoint, index)))
    for kind, position in draw(_MUTATIONS):
        at = position % (len(data) + 1)
        if kind == "splice":
            data[at:at] = draw(RAW_SPLICES)
        elif kind == "cut":
            del data[at : at + 1 + position % 8]
        elif kind == "flip" and at < len(data):
            data[at] ^= 1 << (position % 8)
        else:
            data[at:at] = data[max(0, at - 4) : at]
    return bytes(data)


@st.composite
def jsonl_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(endpoint, file bytes): 0–7 near-valid lines, with odd line endings, blank lines and a BOM now and then."""
    endpoint = draw(ENDPOINTS)
    lines = [_encoded_line(draw, endpoint, index) for index in range(draw(_SMALL))]
    ending = draw(_ENDINGS)
    data = ending.join(lines) + draw(_TAILS)
    if draw(_SMALL) == 0:
        data = b"\xef\xbb\xbf" + data
    return endpoint, data


def any_bytes() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=400) | st.text(max_size=200).map(str.encode)
