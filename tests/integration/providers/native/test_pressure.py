"""Under pressure: unreadable chunk files end their lines, and one line cannot stall a shared TPM schedule."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import msgspec
import msgspec.structs
import redis.asyncio as aioredis

from providers import keys
from providers.base import BatchJob, Finished
from providers.native.chunks import chunk_key
from tests.integration.providers.native.conftest import FAST
from tests.integration.providers.native.helpers import make_job, poll_until_finished, results, running
from tests.support.blobs import DirBlobs
from tests.support.realtime_upstream import RealtimeUpstream

QUICK_READS = msgspec.structs.replace(FAST, chunk_read_attempts=3, chunk_read_backoff_seconds=0.05)


class StoreDown(Exception):
    """What a storage backend raises (the gateway's is `StorageError`): not a FileNotFoundError."""


class FlakyBlobs(DirBlobs):
    """Reading `key` fails `failures` times, then works."""

    def __init__(self, blobs: DirBlobs, key: str, failures: int) -> None:
        super().__init__(blobs.root)
        self.key, self.failures, self.reads = key, failures, 0

    async def open_read(self, key: str) -> AsyncIterator[bytes]:
        if key == self.key:
            self.reads += 1
            if self.reads <= self.failures:
                raise StoreDown(key)
        async for part in super().open_read(key):
            yield part


async def test_an_unreadable_chunk_ends_its_lines_and_the_batch(
    make_provider, blobs: DirBlobs, upstream: RealtimeUpstream
) -> None:
    provider = make_provider(QUICK_READS)
    job = await make_job(blobs, 120)  # chunks of 50, 50, 20
    state = await provider.submit(job)
    provider._blobs = FlakyBlobs(blobs, chunk_key(job.batch_id, 1), failures=1000)
    async with running(provider):
        finished = await poll_until_finished(provider, job, state, limit=15)
    assert (finished.outcome, finished.progress.completed, finished.progress.failed) == ("completed", 70, 50)
    assert finished.missing_code == "input_file_missing"  # the gateway's code for the lost lines
    done = {line["custom_id"] for line in await results(provider, job, state)}
    # The lost chunk's lines have no result: the gateway writes each into the error file when it finishes.
    assert done == {f"c{i}" for i in (*range(50), *range(100, 120))}
    assert provider._blobs.reads == 3  # bounded: read `chunk_read_attempts` times, then given up


async def test_a_transient_read_failure_is_retried(make_provider, blobs: DirBlobs, upstream: RealtimeUpstream) -> None:
    provider = make_provider(QUICK_READS)
    job = await make_job(blobs, 60)
    state = await provider.submit(job)
    provider._blobs = FlakyBlobs(blobs, chunk_key(job.batch_id, 0), failures=2)
    async with running(provider):
        finished = await poll_until_finished(provider, job, state, limit=15)
    assert (finished.progress.completed, finished.progress.failed) == (60, 0)


async def _one_line_job(blobs: DirBlobs, batch_id: str, max_tokens: int) -> BatchJob:
    body = {"model": "m", "messages": [{"role": "user", "content": "huge"}], "max_tokens": max_tokens}
    data = msgspec.json.encode({"custom_id": "a0", "method": "POST", "url": "/v1/chat/completions", "body": body})
    await blobs.write(f"input/{batch_id}.jsonl", _once(data + b"\n"))
    return BatchJob(batch_id=batch_id, tenant="a", endpoint="/v1/chat/completions", model="m", upstream_model="m",
                    input_key=f"input/{batch_id}.jsonl", input_bytes=len(data) + 1, total_requests=1,
                    expires_at=int(time.time() + 3600))  # fmt: skip


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_one_huge_line_does_not_move_the_shared_tpm_schedule(
    make_provider, blobs: DirBlobs, upstream: RealtimeUpstream
) -> None:
    """Issue #16, scenario 2: a line asking for 1e8 tokens on a provider with 100,000 TPM, whose request
    hangs until it times out; another tenant's 5 lines, sent meanwhile, run as if it never existed."""
    upstream.faults = {"huge": ["hang"]}
    upstream.hang_seconds = 2.5
    provider = make_provider(tokens_per_minute=100_000, max_attempts=1, request_timeout_seconds=2.0)
    huge = await _one_line_job(blobs, "batch_huge", 100_000_000)
    small = await make_job(blobs, 5, batch_id="batch_small")
    huge_state = await provider.submit(huge)
    async with running(provider):
        while not upstream.requests:  # noqa: ASYNC110  # the huge line is on the wire, holding its reservation
            await asyncio.sleep(0.01)
        small_state = await provider.submit(small)
        started = time.monotonic()
        finished = await poll_until_finished(provider, small, small_state, limit=10)
        took = time.monotonic() - started
        assert (await poll_until_finished(provider, huge, huge_state, limit=10)).progress.failed == 1
    assert finished.progress.completed == 5
    # 5 lines of ~20 tokens are ~0.1 s of this TPM; the huge line's reservation is capped at one second's
    # worth (unbounded, it would hold the schedule for ~17 hours).
    assert took < 1.8


async def test_a_small_batch_takes_its_turn_behind_a_big_one(
    make_provider, blobs: DirBlobs, upstream: RealtimeUpstream, redis_client: aioredis.Redis
) -> None:
    upstream.latency = 0.02
    provider = make_provider(max_concurrency=8)  # ~400 lines/s: the big batch runs ~2.5 s
    big = await make_job(blobs, 1000, batch_id="batch_big")  # 20 chunks of 50: 4 on the stream, 16 waiting
    small = await make_job(blobs, 5, batch_id="batch_small")
    big_state = await provider.submit(big)
    assert await provider.submit(big) == big_state  # a re-submit after a crash counts the waiting chunks too
    async with running(provider):
        await asyncio.sleep(0.3)
        small_state = await provider.submit(small)
        await poll_until_finished(provider, small, small_state, limit=10)
        outcome, _ = await provider.poll(big, big_state)
        assert not isinstance(outcome, Finished)  # the small batch did not wait for the big one's 20 chunks
        finished = await poll_until_finished(provider, big, big_state, limit=30)
    assert finished.progress.completed == 1000
    await provider.cleanup(big, big_state)
    assert not await redis_client.exists(keys.native_backlog("local", "batch_big"))
    assert not list(blobs.root.glob("native__batch_big__chunk-*"))  # every chunk file, chained ones too
