"""Splitting a validated input file into chunk objects, rewriting the model and estimating tokens.

The input is streamed once; only one chunk (a few hundred lines) is held in memory at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import msgspec

from gateway.core.lines import split_lines
from gateway.validation.endpoints import ENDPOINTS, EndpointSpec
from providers.base import BatchJob, BlobStore
from providers.native.lines import ChunkLine

__all__ = ["chunk_key", "estimate_tokens", "write_chunks"]


class _InputLine(msgspec.Struct):
    custom_id: str
    body: dict[str, object]


# Floats stay Decimal and are written back as JSON numbers, so every number a client sent passes through as
# written; a float would overflow on 1e400, which validation accepts in the fields it does not check.
_input_decoder = msgspec.json.Decoder(_InputLine, float_hook=Decimal)
_encoder = msgspec.json.Encoder(decimal_format="number")


def chunk_key(batch_id: str, index: int) -> str:
    return f"native/{batch_id}/chunk-{index}.jsonl"


def estimate_tokens(body: dict[str, object], endpoint: str = "/v1/chat/completions") -> int:
    """The endpoint's estimate (`EndpointSpec.estimate_tokens`): prompt JSON / 4 plus the output cap."""
    return ENDPOINTS[endpoint].estimate_tokens(body)


def _chunk_line(raw: bytes, upstream_model: str, spec: EndpointSpec) -> bytes:
    line = _input_decoder.decode(raw)
    if line.body.get("model") != upstream_model:
        line.body["model"] = upstream_model
    tokens = spec.estimate_tokens(line.body)
    return _encoder.encode(ChunkLine(line.custom_id, msgspec.Raw(_encoder.encode(line.body)), tokens))


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def write_chunks(job: BatchJob, blobs: BlobStore, chunk_lines: int) -> tuple[int, int]:
    """Write the chunk objects of `job` (deterministic keys, so a rerun overwrites); return the number of
    chunks and of lines."""
    count = lines = 0
    pending: list[bytes] = []
    spec = ENDPOINTS[job.endpoint]
    async for raw in split_lines(blobs.open_read(job.input_key)):
        pending.append(_chunk_line(raw, job.upstream_model, spec))
        lines += 1
        if len(pending) == chunk_lines:
            await blobs.write(chunk_key(job.batch_id, count), _once(b"\n".join(pending) + b"\n"))
            count, pending = count + 1, []
    if pending:
        await blobs.write(chunk_key(job.batch_id, count), _once(b"\n".join(pending) + b"\n"))
        count += 1
    return count, lines
