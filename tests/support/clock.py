"""A business clock tests move: it runs at real speed from a chosen instant and jumps on demand.

Hand `clock.now` to `create_app(..., clock=...)` (or `GatewayServer(clock=...)`) and to the simulators, so
hours of off-peak waiting pass in one `jump_to` and request times can be checked against price windows.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

__all__ = ["MovableClock", "utc"]


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp()


class MovableClock:
    def __init__(self, start: float) -> None:
        self._lock = threading.Lock()
        self._base = start
        self._since = time.monotonic()

    def now(self) -> float:
        with self._lock:
            return self._base + (time.monotonic() - self._since)

    def jump_to(self, at: float) -> None:
        """Continue from `at` (forward only: business time never runs backwards)."""
        with self._lock:
            current = self._base + (time.monotonic() - self._since)
            if at < current:
                raise ValueError("the clock only moves forward")
            self._base, self._since = at, time.monotonic()
