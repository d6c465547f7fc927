"""Pacing the upstream: shared RPM/TPM limits, the upstream's Retry-After deadline, adaptive concurrency."""

from __future__ import annotations

import asyncio
import collections
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from accounting.redis_types import RedisClient
from providers import keys
from providers.config import ProviderSettings
from providers.native.scripts import RATE

__all__ = ["AdaptiveLimit", "RateLimiter", "UpstreamGate"]


class UpstreamGate:
    """The upstream's Retry-After deadline. It is the upstream's global state, so every line of this
    process waits for it, not just the one that was told."""

    def __init__(self) -> None:
        self._not_before = 0.0  # monotonic seconds
        self.engaged = False  # whether the upstream ever asked us to wait (until then `wait` has nothing to do)

    def push(self, seconds: float) -> None:
        self._not_before = max(self._not_before, time.monotonic() + seconds)
        self.engaged = True

    async def wait(self) -> None:
        # A plain sleep, re-checked: the deadline may move later while we sleep (another 429 arrived).
        while (delay := self._not_before - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)


class RateLimiter:
    """RPM and TPM limits shared by all workers through one GCRA script (no burst allowance: sends are
    spaced evenly). Within a process one coroutine at a time holds a reservation and sleeps until its
    slot, so waiting lines do not hammer Redis and the schedule never runs far ahead."""

    def __init__(self, redis: RedisClient, provider: str, settings: ProviderSettings, safety: float) -> None:
        rpm, tpm = settings.requests_per_minute, settings.tokens_per_minute
        self._redis = redis
        self._keys = [keys.native_rate(provider, "rpm"), keys.native_rate(provider, "tpm")]
        self._interval = 60.0 / rpm * safety if rpm else 0.0
        self._per_token = 60.0 / tpm * safety if tpm else 0.0
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return self._interval > 0 or self._per_token > 0

    @property
    def tpm_key(self) -> str | None:
        return self._keys[1] if self._per_token > 0 else None

    def correction(self, actual: int, estimate: int) -> float:
        """Seconds to move the TPM schedule by once a response reports its real token usage."""
        return (actual - estimate) * self._per_token

    async def acquire(self, tokens: int) -> None:
        if not self.enabled:
            return
        async with self._lock:
            delay = await self._reserve(max(tokens, 1))
            if delay > 0:
                await asyncio.sleep(delay)

    async def _reserve(self, tokens: int) -> float:
        backoff = 0.05
        while True:
            try:
                reply = await RATE(self._redis, self._keys, [self._interval, tokens, self._per_token])
                return float(str(reply.decode() if isinstance(reply, bytes) else reply))
            except (RedisConnectionError, RedisTimeoutError, OSError):
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)


class AdaptiveLimit:
    """Concurrency limit with AIMD: halve on overload (at most once a second), grow by ~1 per window of
    successes, never above the configured maximum.

    A counter with a FIFO of waiting futures, not a Condition: a free slot is taken without suspending,
    and a release hands its slot straight to the oldest waiter (no wake-everyone-and-recheck)."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = float(maximum)
        self.in_use = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._last_cut = float("-inf")

    async def acquire(self) -> None:
        if self.in_use < int(self.limit) and not self._waiters:
            self.in_use += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as we were cancelled: give it back
            raise

    def release(self) -> None:
        self.in_use -= 1
        self._hand_over()

    def _hand_over(self) -> None:
        while self._waiters and self.in_use < int(self.limit):
            future = self._waiters.popleft()
            if not future.done():  # a cancelled waiter is skipped
                self.in_use += 1
                future.set_result(None)

    def on_success(self) -> None:
        self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
        if self._waiters:
            self._hand_over()

    def on_overload(self) -> None:
        now = time.monotonic()
        if now - self._last_cut >= 1.0:
            self.limit = max(1.0, self.limit / 2)
            self._last_cut = now
