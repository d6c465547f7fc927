"""Per-line bookkeeping in Redis, micro-batched: ops queued while one round trip is in flight go in the next.

Under load this gives one pipelined round trip per up to `max_ops` lines (grants and outcomes alike);
when idle, a lone op still goes out at once. Round trips are retried through Redis restarts: every op is
idempotent or errs on the safe side (a repeated grant only burns an attempt; outcomes are HSETNX).
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from providers import keys
from providers.native.scripts import CORRECT, RECORD, RESERVE, Script

__all__ = ["Ledger"]

_Op = tuple[Script, list[str], list[str | int | float | bytes], "asyncio.Future[object]"]


class Ledger:
    def __init__(self, redis: aioredis.Redis, max_ops: int) -> None:
        self._redis = redis
        self._max_ops = max_ops
        self._queue: list[_Op] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def reserve(self, batch_id: str, custom_id: str) -> int:
        """The attempt number granted, or a negative RESERVE code (done, cancelled, expired, gone)."""
        keys_ = [keys.native_meta(batch_id), keys.native_results(batch_id), keys.native_attempts(batch_id)]
        reply = await self._call(RESERVE, keys_, [custom_id])
        assert isinstance(reply, int)
        return reply

    async def record(self, batch_id: str, custom_id: str, line: bytes, *, ok: bool) -> None:
        keys_ = [keys.native_meta(batch_id), keys.native_results(batch_id)]
        await self._call(RECORD, keys_, [custom_id, line, "completed" if ok else "failed"])

    async def release(self, batch_id: str) -> None:
        """Give back a granted attempt without an outcome (a retry will ask again, or the line was dropped)."""
        await self._call(RECORD, [keys.native_meta(batch_id), keys.native_results(batch_id)], ["", "", ""])

    async def correct_tokens(self, tpm_key: str, seconds: float) -> None:
        await self._call(CORRECT, [tpm_key], [seconds])

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _call(self, script: Script, keys_: list[str], args: list[str | int | float | bytes]) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._queue.append((script, keys_, args, future))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush_forever())
        return future

    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                ops, self._queue = self._queue[: self._max_ops], self._queue[self._max_ops :]
                await self._execute(ops)

    async def _execute(self, ops: list[_Op]) -> None:
        delay = 0.05
        while ops:
            try:
                ops = await self._round_trip(ops)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                await asyncio.sleep(delay)  # Redis is restarting; every op is safe to send again
                delay = min(delay * 2, 1.0)

    async def _round_trip(self, ops: list[_Op]) -> list[_Op]:
        """Run `ops` in one pipeline; return those to run again (scripts flushed by a Redis restart)."""
        pipe = self._redis.pipeline(transaction=False)
        for script, keys_, args, _ in ops:
            pipe.evalsha(script.sha, len(keys_), *keys_, *args)
        results = await pipe.execute(raise_on_error=False)
        again: list[_Op] = []
        for op, result in zip(ops, results, strict=True):
            if isinstance(result, NoScriptError):
                again.append(op)
            elif not op[3].done():
                if isinstance(result, Exception):
                    op[3].set_exception(result)
                else:
                    op[3].set_result(result)
        for script in {op[0] for op in again}:
            await self._redis.script_load(script.source)
        return again
