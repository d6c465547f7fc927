"""Large, valid chat batch files for benchmarks: OpenAI-sized lines of varied text, reproducible by seed."""

from __future__ import annotations

import random
from pathlib import Path

__all__ = ["write_chat_file"]

_WORDS = b"the quick brown fox jumps over a lazy dog while batch gateways validate every single line".split()


def write_chat_file(path: Path, *, lines: int, size: int, seed: int = 7) -> None:
    """`lines` /v1/chat/completions requests for deepseek-chat, about `size` bytes in all."""
    rng = random.Random(seed)
    pool = b" ".join(rng.choice(_WORDS) for _ in range(400_000))
    per_line = size // lines
    with path.open("wb") as file:
        for index in range(lines):
            head = (
                b'{"custom_id":"request-%d","method":"POST","url":"/v1/chat/completions","body":{"model":'
                b'"deepseek-chat","messages":[{"role":"system","content":"You are a helpful assistant."},'
                b'{"role":"user","content":"' % index
            )
            tail = b'"}],"max_tokens":1000,"temperature":0.7}}\n'
            room = per_line - len(head) - len(tail)
            start = rng.randrange(len(pool) - room)
            file.write(head + pool[start : start + room] + tail)
