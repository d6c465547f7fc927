"""The worker side of the executor: claim chunks from the stream consumer group and run their lines.

A chunk entry stays pending (unacknowledged) while its lines run; a live worker renews it with a
heartbeat (XCLAIM … JUSTID resets the idle time), and XAUTOCLAIM hands the entries of a dead worker to
a live one after `claim_idle_seconds`. Lines already recorded are skipped on the rerun (RESERVE says so).

Lines run on a fixed pool of `max_concurrency` consumer coroutines fed by the Granter (attempts granted in
groups, see grants.py), not a task per line: a line in backoff is handed back to the Granter by a timer, and
a finished line's outcome is recorded in the background (its chunk is acknowledged only once every outcome
is in Redis), so a consumer is always either sending or waiting for work.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

import msgspec
import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.core.clock import Clock
from gateway.core.redis_types import RedisClient
from providers import keys
from providers.base import BlobStore
from providers.native.grants import Granter
from providers.native.ledger import Ledger
from providers.native.limits import AdaptiveLimit
from providers.native.lines import ChunkLine
from providers.native.lua import LOSE, NEXT
from providers.native.pending import Chunk
from providers.native.rates import Rates, decode_windows
from providers.native.runner import LineRunner
from providers.native.tuning import NativeTuning
from providers.retry import full_jitter

__all__ = ["ChunkWorker"]

_log = structlog.get_logger(__name__)
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
_chunk_decoder = msgspec.json.Decoder(ChunkLine)
_Entry = tuple[bytes, dict[bytes, bytes]]


class ChunkWorker:
    def __init__(
        self,
        redis: RedisClient,
        blobs: BlobStore,
        provider: str,
        consumer: str,
        runner: LineRunner,
        granter: Granter,
        ledger: Ledger,
        limit: AdaptiveLimit,
        tuning: NativeTuning,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._redis = redis
        self._blobs = blobs
        self._provider = provider
        self._stream = keys.native_stream(provider)
        self._consumer = consumer
        self._runner = runner
        self._granter = granter
        self._ledger = ledger
        self._limit = limit
        self._tuning = tuning
        self._active: dict[bytes, asyncio.Task[None]] = {}
        self._hungry = asyncio.Event()  # set when the queued lines run low: time to claim another chunk

    async def run(self, stop: asyncio.Event) -> None:
        consumers = [asyncio.create_task(self._consume()) for _ in range(self._limit.maximum)]
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        try:
            await self._claim_loop(stop)
        finally:
            heartbeat.cancel()
            await self._drain()
            for consumer in consumers:
                consumer.cancel()
            await asyncio.gather(*consumers, return_exceptions=True)

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        next_sweep = 0.0
        while not stop.is_set():
            # The take-over sweep runs on time even while busy: a dead worker's chunk must not wait for a
            # live worker to run low (its batch cannot finish without it).
            sweep_due = time.monotonic() >= next_sweep
            if not sweep_due and not self._low():  # enough queued to refill every slot
                self._hungry.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hungry.wait(), 0.2)
                continue
            try:
                if sweep_due:
                    next_sweep = time.monotonic() + self._tuning.claim_idle_seconds / 2
                    entries = await self._reclaim()
                else:
                    entries = await self._read()
            except _REDIS_DOWN:
                await asyncio.sleep(0.2)
                continue
            for entry_id, fields in entries:
                if entry_id not in self._active:
                    self._active[entry_id] = asyncio.create_task(self._run_chunk(entry_id, fields))

    def _low(self) -> bool:
        return self._granter.queued < max(1, int(self._limit.limit))

    async def _read(self) -> list[_Entry]:
        block = int(self._tuning.read_block_seconds * 1000)
        try:
            reply = await self._redis.xreadgroup(
                keys.NATIVE_GROUP, self._consumer, {self._stream: ">"}, count=1, block=block
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return []
        streams: list[tuple[bytes, list[_Entry]]] = reply or []  # type: ignore[assignment]  # redis-py's stub is too wide
        return [entry for _, entries in streams for entry in entries]

    async def _reclaim(self) -> list[_Entry]:
        idle_ms = int(self._tuning.claim_idle_seconds * 1000)
        try:
            reply = await self._redis.xautoclaim(self._stream, keys.NATIVE_GROUP, self._consumer, idle_ms, count=10)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return []
        return [entry for entry in reply[1] if entry is not None]  # deleted entries come back as None

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, keys.NATIVE_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _run_chunk(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        batch_id = fields[b"batch_id"].decode()
        try:
            lines = await self._read_chunk(fields[b"key"].decode())
            if lines is None:
                await self._lose(entry_id, batch_id, fields)
            else:
                chunk = Chunk(batch_id, fields[b"endpoint"].decode(), len(lines), await self._rates(batch_id))
                self._granter.add_chunk(chunk, lines)
                if lines:
                    await chunk.done
            await self._ack(entry_id, batch_id, fields[b"endpoint"].decode())
        except Exception as exc:  # not acknowledged: the entry stays pending and is reclaimed later
            # Off the per-line path: at most one line per failed chunk. No message text: it could quote a line.
            error = type(exc).__name__
            _log.warning("native_chunk_failed", entry=entry_id.decode(), batch_id=batch_id, error=error)
        finally:
            self._active.pop(entry_id, None)

    async def _rates(self, batch_id: str) -> Rates | None:
        """The price windows the batch's route had at submit (none: its usage needs no buckets)."""
        windows = await self._redis.hget(keys.native_meta(batch_id), "windows")
        if not windows:
            return None
        return Rates(decode_windows(windows.encode() if isinstance(windows, str) else windows), self._clock)

    async def _read_chunk(self, key: str) -> list[ChunkLine] | None:
        """The chunk's lines; None once its stored file failed to read `chunk_read_attempts` times. Storage
        raises its own errors (a missing object, an outage, a corrupt file alike), so any failure is retried
        a bounded number of times, then given up."""
        base = self._tuning.chunk_read_backoff_seconds
        for attempt in range(1, self._tuning.chunk_read_attempts + 1):
            try:
                data = b"".join([part async for part in self._blobs.open_read(key)])
                return _chunk_decoder.decode_lines(data)
            except Exception as exc:  # whatever the store raises; retried, then the lines end
                _log.warning("native_chunk_unreadable", key=key, attempt=attempt, error=type(exc).__name__)
            if attempt < self._tuning.chunk_read_attempts:
                await asyncio.sleep(full_jitter(attempt, base=base, cap=math.inf))
        return None

    async def _lose(self, entry_id: bytes, batch_id: str, fields: dict[bytes, bytes]) -> None:
        """Count an unreadable chunk's lines as finished without a result, so its batch can end (the gateway
        writes each such line into the error file). Nothing is counted for a batch that is gone or closed."""
        lines = int(fields.get(b"lines", b"0"))
        counted = await LOSE(self._redis, [keys.native_meta(batch_id)], [entry_id.decode(), lines])
        if counted:
            _log.error("native_chunk_lost", entry=entry_id.decode(), batch_id=batch_id, lines=lines)

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        granter, hungry, limit, step, clock = self._granter, self._hungry, self._limit, self._runner.step, self._clock
        while True:
            chunk, line, granted = await granter.take()
            if granter.queued < limit.limit and not hungry.is_set():  # _low(), inlined: this runs once per line
                hungry.set()
            try:
                if chunk.stopped or clock() >= chunk.expires_at:
                    await self._drop(chunk)
                    continue
                retry = await step(chunk, line, granted)
            except Exception as exc:  # the chunk is retried as a whole, the consumer lives on
                chunk.fail(exc)
                continue
            if retry is not None:
                loop.call_later(retry.delay, granter.add, (chunk, line, retry.last))

    async def _drop(self, chunk: Chunk) -> None:
        """A line granted ahead of sending whose batch has since stopped: give the grant back, send nothing."""
        await self._ledger.release(chunk.batch_id)
        chunk.line_done(None)

    async def _ack(self, entry_id: bytes, batch_id: str, endpoint: str) -> None:
        """Acknowledge a finished chunk and put its batch's next chunk on the stream (lua.NEXT)."""
        script_keys = [
            self._stream,
            keys.native_enqueued(self._provider),
            keys.native_backlog(self._provider, batch_id),
        ]
        while True:
            try:
                await NEXT(self._redis, script_keys, [keys.NATIVE_GROUP, entry_id.decode(), batch_id, endpoint])
                return
            except _REDIS_DOWN:
                await asyncio.sleep(0.2)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self._tuning.claim_idle_seconds / 3)
            if self._active:
                with contextlib.suppress(*_REDIS_DOWN, ResponseError):
                    await self._redis.xclaim(
                        self._stream, keys.NATIVE_GROUP, self._consumer, 0, list(self._active), justid=True
                    )

    async def _drain(self) -> None:
        """Stop claiming; let running chunks finish within the grace period, then abandon them (their
        entries stay pending, so another worker reclaims them)."""
        tasks = list(self._active.values())
        if tasks:
            _, running = await asyncio.wait(tasks, timeout=self._tuning.shutdown_grace_seconds)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
