"""Building jobs and driving a NativeProvider to the end, for the native executor's tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import msgspec
from redis.exceptions import ConnectionError as RedisConnectionError

from providers.base import BatchJob, Finished, PollOutcome
from providers.native.provider import NativeProvider
from tests.support.blobs import DirBlobs
from tests.support.realtime_upstream import RealtimeUpstream, Received


def input_lines(n: int, endpoint: str = "/v1/chat/completions", model: str = "client-model") -> bytes:
    lines = []
    for i in range(n):
        if endpoint == "/v1/chat/completions":
            body = {"model": model, "messages": [{"role": "user", "content": f"line-{i}"}], "max_tokens": 8}
        elif endpoint == "/v1/completions":
            body = {"model": model, "prompt": f"line-{i}", "max_tokens": 8}
        else:
            body = {"model": model, "input": f"line-{i}"}
        lines.append({"custom_id": f"c{i}", "method": "POST", "url": endpoint, "body": body})
    return b"".join(msgspec.json.encode(line) + b"\n" for line in lines)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def make_job(
    blobs: DirBlobs,
    n: int,
    *,
    batch_id: str = "batch_test",
    endpoint: str = "/v1/chat/completions",
    expires_in: float = 3600,
) -> BatchJob:
    data = input_lines(n, endpoint)
    key = f"input/{batch_id}.jsonl"
    await blobs.write(key, _once(data))
    return BatchJob(
        batch_id=batch_id,
        tenant="t",
        endpoint=endpoint,
        model="client-model",
        upstream_model="upstream-model",
        input_key=key,
        input_bytes=len(data),
        total_requests=n,
        expires_at=int(time.time() + expires_in),
    )


async def poll_until_finished(
    provider: NativeProvider, job: BatchJob, state: bytes, limit: float = 30.0, interval: float = 0.05
) -> Finished:
    deadline = time.monotonic() + limit
    outcome: PollOutcome
    while time.monotonic() < deadline:
        try:
            outcome, state = await provider.poll(job, state)
        except RedisConnectionError:  # a pooled connection from before a Redis restart
            continue
        if isinstance(outcome, Finished):
            return outcome
        await asyncio.sleep(interval)
    raise AssertionError(f"batch not finished after {limit}s: {outcome}")


async def results(provider: NativeProvider, job: BatchJob, state: bytes) -> list[dict[str, object]]:
    return [msgspec.json.decode(line) async for line in provider.fetch_results(job, state)]


@contextlib.asynccontextmanager
async def running(provider: NativeProvider) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(provider.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


def requests_before_deadline(upstream: RealtimeUpstream, slack: float = 0.05) -> list[Received]:
    """Requests that reached the simulator inside a Retry-After window it had announced more than `slack`
    seconds before (requests already on the wire when a 429 was issued may land just after it)."""
    issued = [r.at for r in upstream.requests if r.status == 429]
    return [r for r in upstream.requests if r.early and all(r.at > t + slack for t in issued if t < r.at)]
