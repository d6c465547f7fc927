"""submit -> run -> poll -> fetch_results -> cleanup against the real-time simulator and a real Redis."""

from __future__ import annotations

from collections import Counter

import pytest
import redis.asyncio as aioredis

from providers.base import Finished
from tests.integration.providers.native.helpers import make_job, poll_until_finished, results, running
from tests.support.blobs import DirBlobs
from tests.support.realtime_upstream import RealtimeUpstream


@pytest.mark.parametrize("endpoint", ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"])
async def test_every_line_once_with_upstream_usage(
    make_provider, blobs: DirBlobs, upstream: RealtimeUpstream, endpoint: str
) -> None:
    provider = make_provider()
    job = await make_job(blobs, 120, endpoint=endpoint)
    state = await provider.submit(job)
    async with running(provider):
        finished = await poll_until_finished(provider, job, state)
    assert finished == Finished(outcome="completed", progress=finished.progress)
    assert (finished.progress.total, finished.progress.completed, finished.progress.failed) == (120, 120, 0)
    lines = await results(provider, job, state)
    assert sorted(line["custom_id"] for line in lines) == sorted(f"c{i}" for i in range(120))
    assert all(line["id"].startswith("batch_req_") and line["error"] is None for line in lines)
    by_marker = {r.body.get("input") or r.body.get("prompt") or r.body["messages"][-1]["content"]: r
                 for r in upstream.requests}  # fmt: skip
    for line in lines:
        response = line["response"]
        assert response["status_code"] == 200
        sent = by_marker[f"line-{line['custom_id'][1:]}"]
        assert response["body"]["usage"] == sent.usage
        assert response["request_id"].startswith("req_sim_")
    assert {r.path for r in upstream.requests} == {endpoint}
    assert {r.body["model"] for r in upstream.requests} == {"upstream-model"}
    assert {r.headers["authorization"] for r in upstream.requests} == {"Bearer sk-upstream-secret"}


async def test_submit_twice_enqueues_once_and_cleanup_removes_everything(
    make_provider, blobs: DirBlobs, upstream: RealtimeUpstream, redis_client: aioredis.Redis
) -> None:
    provider = make_provider()
    job = await make_job(blobs, 75)
    state = await provider.submit(job)
    assert await provider.submit(job) == state
    assert await redis_client.xlen("bg:native:{local}:chunks") == 2  # 75 lines / 50 per chunk
    async with running(provider):
        await poll_until_finished(provider, job, state)
    assert Counter(r.body["messages"][-1]["content"] for r in upstream.requests) == {f"line-{i}": 1 for i in range(75)}
    await provider.cleanup(job, state)
    with pytest.raises(FileNotFoundError):
        await anext(aiter(blobs.open_read(f"native/{job.batch_id}/chunk-0.jsonl")))
    remaining = [key async for key in redis_client.scan_iter("bg:native:*")]
    assert sorted(remaining) == [b"bg:native:{local}:chunks"]
    assert await redis_client.xlen("bg:native:{local}:chunks") == 0
