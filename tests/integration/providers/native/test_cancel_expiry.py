"""Cancel and expiry mid-run stop dispatching and keep what finished."""

from __future__ import annotations

import asyncio
import time

import msgspec

from providers.base import Running
from tests.integration.providers.native.helpers import make_job, poll_until_finished, results, running
from tests.support.blobs import DirBlobs
from tests.support.realtime_upstream import RealtimeUpstream


async def _wait_for_some(upstream: RealtimeUpstream, count: int) -> None:
    while sum(1 for r in upstream.requests if r.status == 200) < count:  # noqa: ASYNC110 - another thread's list
        await asyncio.sleep(0.01)


async def test_cancel_keeps_finished_and_stops_dispatching(
    make_provider, blobs: DirBlobs, upstream: RealtimeUpstream
) -> None:
    upstream.latency = 0.05
    provider = make_provider(max_concurrency=4)
    job = await make_job(blobs, 200)
    state = await provider.submit(job)
    async with running(provider):
        await _wait_for_some(upstream, 10)
        state = await provider.cancel(job, state)
        outcome, _ = await provider.poll(job, state)
        assert isinstance(outcome, Running)
        assert outcome.status == "cancelling"
        finished = await poll_until_finished(provider, job, state)
        sent_at_finish = len(upstream.requests)
        await asyncio.sleep(0.3)
    assert finished.outcome == "cancelled"
    assert 10 <= finished.progress.completed < 200
    assert len(upstream.requests) == sent_at_finish  # nothing dispatched after the batch closed
    lines = await results(provider, job, state)
    assert len(lines) == finished.progress.completed + finished.progress.failed
    assert len({line["custom_id"] for line in lines}) == len(lines)


async def test_expiry_keeps_finished(make_provider, blobs: DirBlobs, upstream: RealtimeUpstream) -> None:
    upstream.latency = 0.05
    provider = make_provider(max_concurrency=4)
    job = await make_job(blobs, 200, expires_in=1.5)
    state = await provider.submit(job)
    async with running(provider):
        finished = await poll_until_finished(provider, job, state)
        sent_at_finish = len(upstream.requests)
        await asyncio.sleep(0.3)
    assert finished.outcome == "expired"
    assert time.time() >= job.expires_at
    assert 0 < finished.progress.completed < 200
    assert len(upstream.requests) <= sent_at_finish + 4  # at most the in-flight ones land afterwards
    lines = await results(provider, job, state)
    assert len(lines) == finished.progress.completed + finished.progress.failed
    assert all(msgspec.json.encode(line).startswith(b'{"id":"batch_req_') for line in lines)
