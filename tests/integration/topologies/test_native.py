"""The native executor on a real Redis Cluster and Sentinel: consumer group, per-line scripts, pacing, cleanup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.core.redis_types import RedisClient
from gateway.redis.client import open_redis
from providers.native.provider import NativeProvider
from tests.integration.providers.native.conftest import FAST, settings_for
from tests.integration.providers.native.helpers import make_job, poll_until_finished, results, running
from tests.support.blobs import DirBlobs
from tests.support.realtime_upstream import RealtimeUpstream


@pytest.fixture
async def client(topology_url: str) -> AsyncIterator[RedisClient]:
    redis = open_redis(topology_url)
    yield redis
    await redis.aclose()


async def test_every_line_once_then_cleanup(client: RedisClient, tmp_path: Path) -> None:
    blobs = DirBlobs(tmp_path / "blobs")
    with RealtimeUpstream() as upstream:
        settings = settings_for(upstream, requests_per_minute=60_000, tokens_per_minute=50_000_000)
        provider = NativeProvider("local", settings, client, blobs, "sk-upstream", worker_id="w1", tuning=FAST)
        try:
            job = await make_job(blobs, 120)
            state = await provider.submit(job)
            async with running(provider):
                finished = await poll_until_finished(provider, job, state)
            assert (finished.outcome, finished.progress.completed) == ("completed", 120)
            lines = await results(provider, job, state)
            assert sorted(line["custom_id"] for line in lines) == sorted(f"c{i}" for i in range(120))
            assert len(upstream.requests) == 120
            await provider.cleanup(job, state)
            assert await client.exists(f"bg:native:{{{job.batch_id}}}:results") == 0
        finally:
            await provider.aclose()
