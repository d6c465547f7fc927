"""NativeProvider: batchgate runs the lines itself against a real-time OpenAI-compatible endpoint.

submit() splits the input into chunk objects and puts one entry per chunk on a Redis stream; every
worker process runs `run(stop)`, which claims chunks through a consumer group and executes their lines
(see worker.py, runner.py). Outcomes live in a per-batch Redis hash written once per custom_id; poll()
reads the per-batch counters, fetch_results() streams that hash, cleanup() removes everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

import msgspec

from accounting.served import ServedTokens
from gateway.core.clock import Clock, system_clock
from gateway.core.redis_types import RedisClient
from providers import keys
from providers.base import BatchJob, BlobStore, Finished, PollOutcome, Progress, Running
from providers.native.chunks import chunk_key, write_chunks
from providers.native.collector import tune_collector
from providers.native.grants import Granter
from providers.native.ledger import Ledger
from providers.native.limits import AdaptiveLimit, RateLimiter
from providers.native.lua import CLOSE, ENQUEUE
from providers.native.rates import encode_windows
from providers.native.runner import LineRunner
from providers.native.settings import NativeSettings
from providers.native.transport import Upstream
from providers.native.tuning import NativeTuning
from providers.native.worker import ChunkWorker

__all__ = ["NativeProvider"]


class _State(msgspec.Struct, frozen=True):
    chunks: int = 0


_state_decoder = msgspec.json.Decoder(_State)
_OUTCOMES: dict[str, Literal["completed", "expired", "cancelled", "failed"]] = {
    "completed": "completed",
    "expired": "expired",
    "cancelled": "cancelled",
}


def _int(value: bytes | str | int | None) -> int:
    return int(value) if value is not None else 0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class NativeProvider:
    def __init__(
        self,
        name: str,
        settings: NativeSettings,
        redis: RedisClient,
        blobs: BlobStore,
        api_key: str | None,
        *,
        worker_id: str,
        tuning: NativeTuning | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.name = name
        self._clock = clock
        self._settings = settings
        self._redis = redis
        self._blobs = blobs
        self._worker_id = worker_id
        self._tuning = tuning or NativeTuning(claim_idle_seconds=settings.reclaim_idle_seconds)
        self._upstream = Upstream(
            settings.base_url,
            api_key,
            settings.max_concurrency,
            settings.request_timeout_seconds,
            settings.max_retry_after_seconds,
        )
        self._ledger = Ledger(redis, self._tuning.flush_max_ops)

    async def submit(self, job: BatchJob) -> bytes:
        enqueued = keys.native_enqueued(self.name)
        if (ids := await self._redis.hget(enqueued, job.batch_id)) is not None:  # enqueued before a crash
            waiting = await self._redis.llen(keys.native_backlog(self.name, job.batch_id))  # (key, lines) pairs
            return msgspec.json.encode(_State((len(_text(ids).split(",")) if ids else 0) + waiting // 2))
        chunks, lines = await write_chunks(job, self._blobs, self._tuning.chunk_lines)
        meta: dict[str, str | int | bytes] = {"total": lines, "expires_at": job.expires_at}
        if job.price_windows:
            meta["windows"] = encode_windows(job.price_windows)
        await self._redis.hset(keys.native_meta(job.batch_id), mapping=meta)  # type: ignore[arg-type]  # redis-py's stub is too narrow
        per_chunk = self._tuning.chunk_lines
        args: list[str | int | float] = [job.batch_id, job.endpoint, self._tuning.chunks_on_stream]
        for index in range(chunks):
            args += [chunk_key(job.batch_id, index), min(per_chunk, lines - index * per_chunk)]
        backlog = keys.native_backlog(self.name, job.batch_id)
        await ENQUEUE(self._redis, [keys.native_stream(self.name), enqueued, backlog], args)
        return msgspec.json.encode(_State(chunks))

    async def poll(self, job: BatchJob, state: bytes) -> tuple[PollOutcome, bytes]:
        fields = ("total", "completed", "failed", "inflight", "lost", "cancelled_at", "closed")
        values = await self._redis.hmget(keys.native_meta(job.batch_id), fields)
        total, completed, recorded_failed, inflight, lost = (_int(v) for v in values[:5])
        failed = recorded_failed + lost  # lost lines end in the error file too
        progress = Progress(total=total, completed=completed, failed=failed)
        cancelled_at, closed = values[5], values[6]
        now = self._clock()
        if values[0] is None:
            return Finished(outcome="failed", progress=progress), state  # state lost (or never submitted)
        if closed is not None:
            return await self._close(job, _text(closed)), state
        if completed + failed >= total:
            return await self._close(job, "completed"), state
        if now >= job.expires_at:
            return await self._close(job, "expired"), state
        if cancelled_at is not None:
            if inflight <= 0 or now >= float(cancelled_at) + self._tuning.cancel_grace_seconds:
                return await self._close(job, "cancelled"), state
            return Running(progress=progress, status="cancelling", poll_after=self._tuning.poll_seconds), state
        return Running(progress=progress, poll_after=self._tuning.poll_seconds), state

    async def _close(self, job: BatchJob, outcome: str) -> Finished:
        reply = await CLOSE(self._redis, [keys.native_meta(job.batch_id)], [outcome])
        if not isinstance(reply, list):  # the batch's state is gone
            return Finished(outcome="failed", progress=Progress())
        closed, total, completed, failed, lost = reply
        progress = Progress(total=_int(total), completed=_int(completed), failed=_int(failed) + _int(lost))
        missing = "input_file_missing" if _int(lost) else None  # only an unreadable chunk leaves lines unanswered
        outcome = _OUTCOMES.get(_text(closed), "failed")
        served = await self._served(job) if job.price_windows else None
        return Finished(outcome=outcome, progress=progress, missing_code=missing, served=served)

    async def _served(self, job: BatchJob) -> ServedTokens:
        """The batch's tokens per price multiplier, as RECORD summed them (final: the batch is closed)."""
        fields = await self._redis.hgetall(keys.native_meta(job.batch_id))
        prefix = "served:"
        names = {_text(name): value for name, value in fields.items()}
        counters = {name[len(prefix) :]: int(value) for name, value in names.items() if name.startswith(prefix)}
        return ServedTokens.from_fields(counters)

    async def cancel(self, job: BatchJob, state: bytes) -> bytes:
        meta = keys.native_meta(job.batch_id)
        if await self._redis.exists(meta):
            await self._redis.hsetnx(meta, "cancelled_at", repr(self._clock()))
        return state

    async def fetch_results(self, job: BatchJob, state: bytes) -> AsyncIterator[bytes]:
        async for _, line in self._redis.hscan_iter(keys.native_results(job.batch_id), count=500):
            yield line

    async def cleanup(self, job: BatchJob, state: bytes) -> None:
        stream, enqueued = keys.native_stream(self.name), keys.native_enqueued(self.name)
        ids = await self._redis.hget(enqueued, job.batch_id)
        chunks = _state_decoder.decode(state).chunks if state else 0
        # Two transactions, one per hash slot (the provider's stream, the batch's state), so they run on Redis
        # Cluster too. Each is idempotent: a crash between them leaves what a second cleanup finishes.
        async with self._redis.pipeline(transaction=True) as pipe:
            if ids:
                entry_ids = _text(ids).split(",")
                pipe.xack(stream, keys.NATIVE_GROUP, *entry_ids)
                pipe.xdel(stream, *entry_ids)
            pipe.hdel(enqueued, job.batch_id)
            pipe.delete(keys.native_backlog(self.name, job.batch_id))
            await pipe.execute()
        batch_keys = (keys.native_meta(job.batch_id), keys.native_results(job.batch_id))
        await self._redis.delete(*batch_keys, keys.native_attempts(job.batch_id))
        for index in range(chunks):
            await self._blobs.delete(chunk_key(job.batch_id, index))

    async def run(self, stop: asyncio.Event) -> None:
        limit = AdaptiveLimit(self._settings.max_concurrency)
        safety, correct = self._tuning.rate_safety, self._ledger.correct_tokens
        limiter = RateLimiter(self._redis, self.name, self._settings, safety, correct)
        runner = LineRunner(self._settings, self._ledger, limiter, limit, self._upstream)
        granter = Granter(self._ledger, limit, self._settings.max_attempts)
        worker = ChunkWorker(
            self._redis,
            self._blobs,
            self.name,
            self._worker_id,
            runner,
            granter,
            self._ledger,
            limit,
            self._tuning,
            self._clock,
        )
        await worker.ensure_group()
        tune_collector()  # process-wide: the executor's live set makes CPython's defaults collect constantly
        await worker.run(stop)

    async def aclose(self) -> None:
        await self._ledger.aclose()
        await self._upstream.aclose()
