"""Splitting a validated input file into chunk objects, rewriting the model and estimating tokens.

The input is streamed once; only one chunk (a few hundred lines) is held in memory at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from providers.base import BatchJob, BlobStore
from providers.native.lines import ChunkLine

__all__ = ["chunk_key", "estimate_tokens", "write_chunks"]


class _InputLine(msgspec.Struct):
    custom_id: str
    body: dict[str, object]


_input_decoder = msgspec.json.Decoder(_InputLine)
_encoder = msgspec.json.Encoder()
_PROMPT_FIELDS = ("messages", "prompt", "input")


def chunk_key(batch_id: str, index: int) -> str:
    return f"native/{batch_id}/chunk-{index}.jsonl"


def estimate_tokens(body: dict[str, object]) -> int:
    """Prompt characters / 4 (the JSON of the prompt fields, a slight overestimate) plus max_tokens."""
    prompt = sum(len(_encoder.encode(body[field])) for field in _PROMPT_FIELDS if field in body)
    limit = body.get("max_completion_tokens", body.get("max_tokens", 0))
    return prompt // 4 + (limit if isinstance(limit, int) else 0)


def _chunk_line(raw: bytes, upstream_model: str) -> bytes:
    line = _input_decoder.decode(raw)
    if line.body.get("model") != upstream_model:
        line.body["model"] = upstream_model
    tokens = estimate_tokens(line.body)
    return _encoder.encode(ChunkLine(line.custom_id, msgspec.Raw(_encoder.encode(line.body)), tokens))


async def _iter_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Non-blank lines of a streamed file, without their newlines."""
    rest = b""
    async for chunk in chunks:
        *lines, rest = (rest + chunk).split(b"\n")
        for line in lines:
            if line.strip():
                yield line
    if rest.strip():
        yield rest


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def write_chunks(job: BatchJob, blobs: BlobStore, chunk_lines: int) -> tuple[int, int]:
    """Write the chunk objects of `job` (deterministic keys, so a rerun overwrites); return the number of
    chunks and of lines."""
    count = lines = 0
    pending: list[bytes] = []
    async for raw in _iter_lines(blobs.open_read(job.input_key)):
        pending.append(_chunk_line(raw, job.upstream_model))
        lines += 1
        if len(pending) == chunk_lines:
            await blobs.write(chunk_key(job.batch_id, count), _once(b"\n".join(pending) + b"\n"))
            count, pending = count + 1, []
    if pending:
        await blobs.write(chunk_key(job.batch_id, count), _once(b"\n".join(pending) + b"\n"))
        count += 1
    return count, lines
