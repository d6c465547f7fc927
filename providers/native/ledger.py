"""Per-line bookkeeping in Redis, micro-batched: ops queued while one round trip is in flight go in the next.

Under load this gives one pipelined round trip per up to `max_ops` lines, and within it one script call
per batch and kind (grants, outcomes) rather than one per line, because packing, parsing and running a
script per line costs more than the work it does. When idle, a lone op still goes out at once.
Round trips are retried through Redis restarts: every op is idempotent or errs on the safe side (a
repeated grant only burns an attempt; outcomes are HSETNX).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import NamedTuple

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.core.lua import Script, evalsha_many
from gateway.core.redis_types import RedisClient
from providers import keys
from providers.native.lua import CORRECT, RECORD, RESERVE, pack

__all__ = ["Done", "Grants", "Ledger"]

_Arg = str | int | float | bytes  # what goes to Redis
Done = Callable[[BaseException | None], None]  # told once: None when the op ran, else why it failed
# An op: the script, its group (a batch id, or the TPM key), its arguments, and whom to tell: the caller's
# future, or a plain callback (outcomes: no future and no extra loop callback per line).
_Op = tuple[Script, str, tuple[bytes, ...], "asyncio.Future[object] | Done"]
_Group = tuple[Script, str, list[_Op]]
_COMPLETED, _FAILED = b"completed", b"failed"


class Grants(NamedTuple):
    """RESERVE's answer for a group of lines of one batch."""

    attempts: list[int]  # per line: the attempt number granted, or a negative code (see lua.RESERVE)
    expires_at: int  # the batch's expiry, unix seconds (0: the batch is gone)


def _keys(script: Script, target: str) -> list[str]:
    if script is RESERVE:
        return [keys.native_meta(target), keys.native_results(target), keys.native_attempts(target)]
    if script is RECORD:
        return [keys.native_meta(target), keys.native_results(target)]
    return [target]  # CORRECT: the TPM key itself


def _args(script: Script, ops: list[_Op]) -> list[_Arg]:
    if script is CORRECT:  # corrections add up: one call moves the schedule by their sum
        return [sum(float(op[2][0]) for op in ops)]
    packed = pack([field for op in ops for field in op[2]])
    if script is RECORD:  # a release carries no fields: it only gives back its grant
        return [sum(1 for op in ops if not op[2]), packed]
    return [packed]


def _group(ops: list[_Op]) -> list[_Group]:
    groups: dict[tuple[Script, str], list[_Op]] = {}
    for op in ops:
        groups.setdefault((op[0], op[1]), []).append(op)
    return [(script, target, members) for (script, target), members in groups.items()]


def _per_op(script: Script, members: list[_Op], result: object) -> list[object]:
    """What each op is told: RESERVE ops their slice of the grants (plus the batch's expiry), others None."""
    if script is not RESERVE or not isinstance(result, list):
        return [None] * len(members)
    expires_at, start = result[-1], 0
    values: list[object] = []
    for op in members:
        values.append(Grants(result[start : start + len(op[2])], expires_at))
        start += len(op[2])
    return values


def _settle(script: Script, members: list[_Op], result: object) -> None:
    error = result if isinstance(result, Exception) else None
    for op, value in zip(members, _per_op(script, members, result), strict=True):
        sink = op[3]
        if not isinstance(sink, asyncio.Future):
            sink(error)
        elif not sink.done():
            if error is not None:
                sink.set_exception(error)
            else:
                sink.set_result(value)


def _retrieve(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()  # a failed correction only skews pacing a little; do not report it as unretrieved


class Ledger:
    def __init__(self, redis: RedisClient, max_ops: int) -> None:
        self._redis = redis
        self._max_ops = max_ops
        self._queue: list[_Op] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def reserve(self, batch_id: str, custom_id: str) -> int:
        """The attempt number granted, or a negative RESERVE code (done, cancelled, expired, gone)."""
        reply = await self.reserve_many(batch_id, [custom_id])
        assert isinstance(reply, Grants)
        return reply.attempts[0]

    def reserve_many(self, batch_id: str, custom_ids: list[str]) -> asyncio.Future[object]:
        """Ask for one attempt for each line, in one op; the future resolves to their `Grants`."""
        return self._call(RESERVE, batch_id, tuple(custom_id.encode() for custom_id in custom_ids))

    def record(self, batch_id: str, custom_id: str, line: bytes, *, ok: bool, done: Done, served: bytes = b"") -> None:
        """Queue a line's outcome; `done` is called once the round trip carrying it has run. `served` is the
        line's usage in its price bucket (`Rates.served`), added to the batch's once with the outcome."""
        self._queue_op((RECORD, batch_id, (custom_id.encode(), line, _COMPLETED if ok else _FAILED, served), done))

    async def release(self, batch_id: str) -> None:
        """Give back a granted attempt without an outcome (a retry will ask again, or the line was dropped)."""
        await self._call(RECORD, batch_id, ())

    def correct_tokens(self, tpm_key: str, seconds: float) -> None:
        """Queue a TPM schedule correction; it rides along with the next round trip, nobody waits for it."""
        self._call(CORRECT, tpm_key, (repr(seconds).encode(),)).add_done_callback(_retrieve)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _call(self, script: Script, target: str, args: tuple[bytes, ...]) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._queue_op((script, target, args, future))
        return future

    def _queue_op(self, op: _Op) -> None:
        self._queue.append(op)
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush_forever())

    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                ops, self._queue = self._queue[: self._max_ops], self._queue[self._max_ops :]
                await self._execute(_group(ops))

    async def _execute(self, groups: list[_Group]) -> None:
        delay = 0.05
        while groups:
            try:
                groups = await self._round_trip(groups)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                await asyncio.sleep(delay)  # Redis is restarting; every op is safe to send again
                delay = min(delay * 2, 1.0)

    async def _round_trip(self, groups: list[_Group]) -> list[_Group]:
        """Run `groups` in one round trip; return those to run again (scripts flushed by a Redis restart)."""
        calls = [(script.sha, _keys(script, target), _args(script, members)) for script, target, members in groups]
        results = await evalsha_many(self._redis, calls)
        again: list[_Group] = []
        for group, result in zip(groups, results, strict=True):
            if isinstance(result, NoScriptError):
                again.append(group)
            else:
                _settle(group[0], group[2], result)
        for script in {group[0] for group in again}:
            await script.load(self._redis)
        return again
