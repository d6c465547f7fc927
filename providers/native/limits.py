"""Pacing the upstream: shared RPM/TPM limits, the upstream's Retry-After deadline, adaptive concurrency."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.core.redis_types import RedisClient
from providers import keys
from providers.native.lua import RATE
from providers.native.settings import NativeSettings
from providers.retry import full_jitter

__all__ = ["AdaptiveLimit", "RateLimiter", "UpstreamGate"]


class UpstreamGate:
    """A provider-wide pause, for when the upstream clearly limits everyone: its rate-limit headers say
    the quota is spent, or overload answers (429/503) come in a burst — at least `BURST_MIN` of them in a
    window of `WINDOW_SECONDS`, making up at least `BURST_SHARE` of that window's answers. A lone 429 in
    a background of successes delays only its own line (see `LineRunner`), never the rest.

    Windows tumble (a new one starts with the first overload after the last one ended), so the runner
    only counts answers (`answered`) on its hot path; the window's sums are taken at overloads."""

    WINDOW_SECONDS = 1.0
    BURST_MIN = 8
    BURST_SHARE = 0.25
    DEFAULT_PAUSE = 1.0  # seconds, when a burst carries no Retry-After

    def __init__(self) -> None:
        self._not_before = 0.0  # monotonic seconds
        self.engaged = False  # whether a pause ever happened (until then `wait` has nothing to do)
        self.answered = 0  # answers seen (incremented by the runner)
        self._window_start = float("-inf")
        self._window_base = 0  # `answered` when the window started
        self._overloads = 0  # in this window

    def overloaded(self, retry_after: float | None, quota_spent: bool) -> bool:
        """Told of a 429/503 (already counted in `answered`); pauses every line when the upstream limits
        globally. Returns whether it did."""
        now = time.monotonic()
        if now - self._window_start >= self.WINDOW_SECONDS:
            self._window_start, self._window_base, self._overloads = now, self.answered - 1, 0
        self._overloads += 1
        answers = self.answered - self._window_base
        burst = self._overloads >= self.BURST_MIN and self._overloads >= self.BURST_SHARE * answers
        if not (quota_spent or burst):
            return False
        self.push(self.DEFAULT_PAUSE if retry_after is None else retry_after)
        return True

    def push(self, seconds: float) -> None:
        """Pause every line for `seconds` (already capped by the provider's `max_retry_after_seconds`)."""
        self._not_before = max(self._not_before, time.monotonic() + seconds)
        self.engaged = True

    async def wait(self) -> None:
        # A plain sleep, re-checked: the deadline may move later while we sleep (another burst arrived).
        while (delay := self._not_before - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)


class RateLimiter:
    """RPM and TPM limits shared by all workers through one GCRA script (no burst allowance: sends are
    spaced evenly). Within a process at most `AHEAD` coroutines at a time hold a reservation and sleep until
    their slot, so waiting lines do not hammer Redis and the schedule runs at most `AHEAD` slots ahead.
    Several holders, not one, so a Redis round trip per line does not cap the rate: with one holder each
    slot would wait for the previous line's round trip (at 10 ms a round trip, half of a 10,800 RPM limit).

    A line reserves its estimated tokens, but never more than one second of the TPM limit (`reserved`):
    the shared schedule then moves by at most that much ahead of what the line really used, whatever its
    `max_tokens` says. Its answer settles the difference (`correction`); a line that got no usable answer
    gives its reservation back (`refund`)."""

    AHEAD = 8  # reservations in flight per process

    def __init__(
        self,
        redis: RedisClient,
        provider: str,
        settings: NativeSettings,
        safety: float,
        correct: Callable[[str, float], None],
    ) -> None:
        rpm, tpm = settings.requests_per_minute, settings.tokens_per_minute
        self._redis = redis
        self._correct = correct  # queues a move of the TPM schedule (key, seconds); nobody waits for it
        self._keys = [keys.native_rate(provider, "rpm"), keys.native_rate(provider, "tpm")]
        self._interval = 60.0 / rpm * safety if rpm else 0.0
        self._per_token = 60.0 / tpm * safety if tpm else 0.0
        self._max_reserved = max(1, tpm // 60) if tpm else 0
        self._holders = asyncio.Semaphore(self.AHEAD)

    @property
    def enabled(self) -> bool:
        return self._interval > 0 or self._per_token > 0

    def reserved(self, estimate: int) -> int:
        """The tokens a line with this estimate reserves on the TPM schedule (0 when TPM is off)."""
        return min(max(estimate, 1), self._max_reserved)

    def settle(self, reserved: int, used: int | None) -> None:
        """Once a line's attempt is over: move the TPM schedule by what it really `used` instead of what it
        `reserved` — 0 for no usable answer (non-2xx, timeout, cancel), which gives the reservation back;
        None when unknown (a 2xx without usage), which lets the reservation stand."""
        if reserved and used is not None and used != reserved:
            self._correct(self._keys[1], (used - reserved) * self._per_token)

    async def acquire(self, reserved: int) -> None:
        """Wait for this line's slot; `reserved` is `reserved(estimate)`, or 0 when TPM is off."""
        if not self.enabled:
            return
        async with self._holders:
            delay = await self._reserve(max(reserved, 1))
            try:
                if delay > 0:
                    await asyncio.sleep(delay)
            except asyncio.CancelledError:
                self.settle(reserved, 0)  # reserved but never sent
                raise

    async def _reserve(self, tokens: int) -> float:
        failures = 0
        while True:
            try:
                reply = await RATE(self._redis, self._keys, [self._interval, tokens, self._per_token])
                return float(str(reply.decode() if isinstance(reply, bytes) else reply))
            except (RedisConnectionError, RedisTimeoutError, OSError):
                failures += 1
                await asyncio.sleep(full_jitter(failures, base=0.05, cap=1.0))


class AdaptiveLimit:
    """Concurrency limit with AIMD: halve on overload (at most once a second, never below `floor`), grow
    by ~1 per window of successes, never above the configured maximum. Once no overload came for
    `RECOVER_SECONDS`, growth is +1 per success (the limit doubles per window), so a limit cut by a
    passing storm is back within a few round trips, not after thousands of lines.

    A counter with a FIFO of waiting futures, not a Condition: a free slot is taken without suspending,
    and a release hands its slot straight to the oldest waiter (no wake-everyone-and-recheck)."""

    RECOVER_SECONDS = 2.0

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.floor = float(max(1, maximum // 8))
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
        if self.limit >= self.maximum:  # the common case: nothing to grow
            return
        calm = time.monotonic() - self._last_cut >= self.RECOVER_SECONDS
        self.limit = min(float(self.maximum), self.limit + (1.0 if calm else 1.0 / self.limit))
        if self._waiters:
            self._hand_over()

    def on_overload(self) -> None:
        now = time.monotonic()
        if now - self._last_cut >= 1.0:
            self.limit = max(self.floor, self.limit / 2)
            self._last_cut = now
