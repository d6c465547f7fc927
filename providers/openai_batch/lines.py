"""The gateway's input file as upstream lines: streamed, `body.model` rewritten, cut into shards."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import msgspec

from gateway.core.lines import split_lines
from providers.base import BatchJob, BlobStore
from providers.openai_batch.state import Shard

__all__ = ["Rewrite", "plan_shards", "rewriter", "shard_chunks", "shard_lines"]

Rewrite = Callable[[bytes], bytes]
_CHUNK = 1 << 16

# Raw values keep every byte of what we do not touch (messages, parameters) exactly as the client wrote it.
_object = msgspec.json.Decoder(dict[str, msgspec.Raw])
_encode = msgspec.json.encode


def rewriter(job: BatchJob) -> Rewrite:
    """Rewrite each line's `body.model` to the upstream's name, or pass lines through when they agree."""
    if job.model == job.upstream_model:
        return lambda line: line
    model = msgspec.Raw(_encode(job.upstream_model))

    def rewrite(line: bytes) -> bytes:
        fields = _object.decode(line)
        body = _object.decode(fields["body"])
        body["model"] = model
        fields["body"] = msgspec.Raw(_encode(body))
        return _encode(fields)

    return rewrite


async def plan_shards(
    blobs: BlobStore, job: BatchJob, rewrite: Rewrite, max_requests: int, max_bytes: int
) -> list[Shard]:
    """One streaming pass: consecutive line ranges, each within both limits (a lone oversized line gets its own)."""
    shards: list[Shard] = []
    first = count = size = 0
    index = 0
    async for line in split_lines(blobs.open_read(job.input_key)):
        length = len(rewrite(line)) + 1
        if count and (count == max_requests or size + length > max_bytes):
            shards.append(Shard(index=len(shards), first_line=first, requests=count, bytes=size))
            first, count, size = index, 0, 0
        count, size, index = count + 1, size + length, index + 1
    if count:
        shards.append(Shard(index=len(shards), first_line=first, requests=count, bytes=size))
    return shards


async def shard_lines(blobs: BlobStore, job: BatchJob, shard: Shard) -> AsyncIterator[bytes]:
    """The shard's original input lines (skipping the earlier shards' lines while streaming)."""
    index, end = 0, shard.first_line + shard.requests
    async with contextlib.aclosing(split_lines(blobs.open_read(job.input_key))) as lines:
        async for line in lines:
            if index >= end:
                return
            if index >= shard.first_line:
                yield line
            index += 1


async def shard_chunks(blobs: BlobStore, job: BatchJob, shard: Shard, rewrite: Rewrite) -> AsyncIterator[bytes]:
    """The shard's upload body: rewritten lines with newlines, grouped into ~64 KiB chunks."""
    buffer = bytearray()
    async for line in shard_lines(blobs, job, shard):
        buffer += rewrite(line)
        buffer += b"\n"
        if len(buffer) >= _CHUNK:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)
