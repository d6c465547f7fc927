"""The native executor's garbage-collector tuning, applied when its worker loop starts (process-wide)."""

from __future__ import annotations

import gc

__all__ = ["GC_GEN0_THRESHOLD", "tune_collector"]

# Net allocations of container objects between two collections of the youngest generation (CPython: 700).
GC_GEN0_THRESHOLD = 10_000


def tune_collector() -> None:
    """Collect less often than CPython's default, and never walk what exists when the executor starts.

    The executor keeps a working set of a few thousand container objects alive (requests in flight,
    granted lines, outcomes waiting for their Redis round trip); with CPython's default threshold of 700
    the collector walks that live set hundreds of times per few thousand lines and finds no garbage
    (figures: docs/decisions.md, `tests/benchmarks/test_native_bench.py`). Reference cycles, which the
    per-line path does not create, wait longer to be freed: a bounded, small amount of memory.

    `gc.freeze()`: everything alive now (modules, settings, clients) lives as long as the process, so it
    moves to the permanent generation and the occasional full collection skips it.
    """
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, middle, oldest)
    gc.freeze()
