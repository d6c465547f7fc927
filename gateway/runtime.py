"""Process-wide runtime of batchgate's long-running commands (`serve`, `worker`): GC tuning and the event loop."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any

__all__ = ["GC_GEN0_THRESHOLD", "run_on_fastest_loop", "tune_gc"]

# Net allocations of container objects between two collections of the youngest generation (CPython: 700).
GC_GEN0_THRESHOLD = 10_000


def tune_gc() -> None:
    """Collect less often than CPython's default, and never walk the start-up heap.

    The native executor keeps a working set of a few thousand container objects alive: requests in
    flight, granted lines, outcomes waiting for their Redis round trip. Objects there live across many
    allocations, so with the default threshold of 700 the collector ran about 250 times per 5,000 lines
    (at zero upstream latency), each time walking the live set: measured, about 15% of the executor's
    CPU, and none of it found garbage. At 10,000 it runs a few times per 5,000 lines
    (`tests/benchmarks/test_native_bench.py` runs with this tuning). Reference cycles, which batchgate's
    per-line path does not create, wait longer to be freed: a bounded, small amount of memory.

    `gc.freeze()` moves what exists at start-up (modules, classes, the app) to the permanent generation,
    so the occasional full collection skips it.
    """
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, middle, oldest)
    gc.freeze()


def run_on_fastest_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it is installed: the loop `serve` already runs on (uvicorn's loop="auto"), so the executor
    behaves the same embedded or alone; its CPU per line is a few percent lower there (test_native_bench)."""
    try:
        import uvloop
    except ImportError:  # e.g. Windows, which uvloop does not support
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)
