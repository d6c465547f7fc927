"""The wall clock, injectable: every component that asks "what time is it" takes a `Clock`.

Production passes `time.time`; tests pass a clock they can move, so hours of off-peak deferral run in
milliseconds and a request's timestamp can be checked against the price windows it was sent in.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "system_clock"]

Clock = Callable[[], float]  # unix seconds


def system_clock() -> float:
    return time.time()
