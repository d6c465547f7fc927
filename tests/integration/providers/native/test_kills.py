"""SIGKILLed workers and a SIGKILLed Redis: every line exactly once, none sent more than max_attempts times."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from providers.base import Running
from providers.config import NativeSettings
from providers.native.provider import NativeProvider
from tests.integration.providers.native.conftest import FAST
from tests.integration.providers.native.helpers import make_job, poll_until_finished, results, running
from tests.support.blobs import DirBlobs
from tests.support.realtime_upstream import RealtimeUpstream
from tests.support.redis_server import RedisServer

MAX_ATTEMPTS = 5
ROOT = Path(__file__).resolve().parents[4]


def _spawn(redis_url: str, upstream: RealtimeUpstream, blobs: DirBlobs, worker_id: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tests.support.native_worker", "--redis-url", redis_url, "--base-url",
            upstream.base_url, "--blobs", str(blobs.root), "--worker-id", worker_id, "--max-attempts",
            str(MAX_ATTEMPTS)]  # fmt: skip
    return subprocess.Popen(argv, cwd=ROOT)


async def _kill_run(redis_url: str, blobs: DirBlobs, upstream: RealtimeUpstream, kills: int, lines: int) -> None:
    upstream.latency = 0.03  # 16 lines per 30 ms: a worker dies long before the batch is done
    client = aioredis.Redis.from_url(redis_url)
    settings = NativeSettings(base_url=upstream.base_url, max_attempts=MAX_ATTEMPTS)
    provider = NativeProvider("local", settings, client, blobs, None, worker_id="poller", tuning=FAST)
    job = await make_job(blobs, lines)
    state = await provider.submit(job)
    try:
        for n in range(kills):
            worker = _spawn(redis_url, upstream, blobs, f"w{n}")
            await asyncio.sleep(random.uniform(0.8, 1.6))  # interpreter start-up takes ~0.5 s
            outcome, _ = await provider.poll(job, state)
            assert isinstance(outcome, Running)  # the kill lands mid-run
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        last = _spawn(redis_url, upstream, blobs, "last")
        try:
            finished = await poll_until_finished(provider, job, state, limit=60)
        finally:
            last.terminate()
            last.wait(10)
        lines_out = await results(provider, job, state)
        assert finished.outcome == "completed"
        assert sorted(line["custom_id"] for line in lines_out) == sorted(f"c{i}" for i in range(lines))
        sends = Counter(r.body["messages"][-1]["content"] for r in upstream.requests)
        assert max(sends.values()) <= MAX_ATTEMPTS
        assert set(sends) == {f"line-{i}" for i in range(lines)}
    finally:
        await provider.aclose()
        await client.aclose()


async def test_worker_sigkills(redis_url: str, blobs: DirBlobs, upstream: RealtimeUpstream) -> None:
    await _kill_run(redis_url, blobs, upstream, kills=2, lines=1500)


@pytest.mark.slow
async def test_many_worker_sigkills(redis_url: str, blobs: DirBlobs, upstream: RealtimeUpstream) -> None:
    await _kill_run(redis_url, blobs, upstream, kills=12, lines=6000)


async def _recorded(client: aioredis.Redis, batch_id: str) -> int:
    """Outcomes recorded so far; a pooled connection from before the last restart fails once, so ask again."""
    key = f"bg:native:{{{batch_id}}}:results"
    try:
        return await client.hlen(key)
    except RedisConnectionError:
        return await client.hlen(key)


async def test_redis_sigkill_and_restart(
    make_provider, redis_server: RedisServer, redis_client: aioredis.Redis, blobs: DirBlobs, upstream: RealtimeUpstream
) -> None:
    upstream.latency = 0.03
    provider = make_provider(max_attempts=MAX_ATTEMPTS)
    job = await make_job(blobs, 600)
    state = await provider.submit(job)
    async with running(provider):
        for _ in range(2):
            await asyncio.sleep(0.4)
            assert await _recorded(redis_client, job.batch_id) < 600  # lands mid-run
            await asyncio.to_thread(redis_server.restart)
        finished = await poll_until_finished(provider, job, state, limit=60)
    assert finished.outcome == "completed"
    lines_out = await results(provider, job, state)
    assert sorted(line["custom_id"] for line in lines_out) == sorted(f"c{i}" for i in range(600))
    assert finished.progress.completed + finished.progress.failed == 600
    sends = Counter(r.body["messages"][-1]["content"] for r in upstream.requests)
    assert max(sends.values()) <= MAX_ATTEMPTS
