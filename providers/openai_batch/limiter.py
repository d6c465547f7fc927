"""A smoothed request-rate bound per provider (GCRA: about one second's worth of burst, never more)."""

from __future__ import annotations

import asyncio
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, per_minute: int | None) -> None:
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._burst = max(1.0, self._interval)
        self._tat = 0.0  # theoretical arrival time of the next request

    async def acquire(self) -> None:
        if not self._interval:
            return
        # Reserve a slot synchronously (one event loop, no await in between), then wait for it.
        now = time.monotonic()
        tat = max(self._tat, now)
        self._tat = tat + self._interval
        wait = tat - self._burst - now
        if wait > 0:
            await asyncio.sleep(wait)
