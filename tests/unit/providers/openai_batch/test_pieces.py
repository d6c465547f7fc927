"""Retry delays, line splitting, model rewriting, shard planning and host-bound auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest

from gateway.core.lines import split_lines
from providers.base import BatchJob
from providers.openai_batch.auth import HostBearer
from providers.openai_batch.lines import plan_shards, rewriter, shard_chunks
from tests.support.blobs import DirBlobs


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_split_lines_across_chunk_borders() -> None:
    lines = [line async for line in split_lines(_chunks(b'{"a"', b":1}\n\n{", b'"b":2}\r\n', b"{}"))]
    assert lines == [b'{"a":1}', b'{"b":2}', b"{}"]


def _job(key: str, model: str, upstream: str) -> BatchJob:
    return BatchJob(batch_id="b", tenant="t", endpoint="/v1/chat/completions", model=model, upstream_model=upstream,
                    input_key=key, input_bytes=0, total_requests=0, expires_at=0)  # fmt: skip


def test_rewrite_changes_only_the_model() -> None:
    line = b'{"custom_id":"x","body":{"messages":[{"content":"caf\\u00e9  spaced"}],"model":"a","n":1.50}}'
    rewritten = rewriter(_job("k", "a", "org/Model-B"))(line)
    assert msgspec.json.decode(rewritten)["body"]["model"] == "org/Model-B"
    assert b'[{"content":"caf\\u00e9  spaced"}]' in rewritten
    assert b"1.50" in rewritten
    assert rewriter(_job("k", "a", "a"))(line) is line


@pytest.mark.parametrize(("max_requests", "max_bytes", "sizes"), [(4, 10**6, [4, 4, 2]), (100, 130, None)])
async def test_plan_shards_respects_both_limits(
    tmp_path: Path, max_requests: int, max_bytes: int, sizes: list[int] | None
) -> None:
    blobs = DirBlobs(tmp_path)
    lines = [msgspec.json.encode({"custom_id": f"c{i}", "body": {"model": "a"}}) for i in range(10)]
    blobs.put("k", b"\n".join(lines))
    job = _job("k", "a", "bb")
    rewrite = rewriter(job)
    shards = await plan_shards(blobs, job, rewrite, max_requests, max_bytes)
    if sizes is not None:
        assert [s.requests for s in shards] == sizes
    rebuilt = b""
    for shard in shards:
        body = b"".join([chunk async for chunk in shard_chunks(blobs, job, shard, rewrite)])
        assert len(body) == shard.bytes <= max_bytes
        rebuilt += body
    assert rebuilt == b"".join(rewrite(line) + b"\n" for line in lines)


def test_bearer_goes_only_to_the_configured_origin() -> None:
    auth = HostBearer("sk-secret", "https://api.deepseek.com/v1")
    mine = next(auth.auth_flow(httpx.Request("GET", "https://api.deepseek.com/v1/batches")))
    other = next(auth.auth_flow(httpx.Request("GET", "https://evil.example/v1/batches")))
    plain = next(auth.auth_flow(httpx.Request("GET", "http://api.deepseek.com/v1/batches")))
    assert mine.headers["Authorization"] == "Bearer sk-secret"
    assert "Authorization" not in other.headers
    assert "Authorization" not in plain.headers
    assert "sk-secret" not in repr(auth)
