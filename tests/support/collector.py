"""Putting the garbage collector back after a test or benchmark ran `tune_collector()` (process-wide)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_restored"]


@contextmanager
def collector_restored() -> Iterator[None]:
    """On exit: the thresholds as they were on entry, and the heap frozen in between unfrozen."""
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
